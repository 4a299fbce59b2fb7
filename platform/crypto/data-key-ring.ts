import { randomBytes } from "node:crypto";

import { KEY_BYTES } from "./key-encryption-keys";

/**
 * One subgraph's unwrapped data keys, as loaded at start (data-key-store.ts): the active key encrypts
 * every new value, the others only decrypt until the re-encryption job has moved their values and
 * they are retired. Kept in memory only; swapping in a reloaded ring is how a rotation reaches a
 * running replica.
 */
export class DataKeyRing {
  private readonly keys: ReadonlyMap<string, Buffer>;

  constructor(
    readonly subgraph: string,
    readonly activeKeyId: string,
    keys: ReadonlyMap<string, Buffer>,
  ) {
    if (!keys.has(activeKeyId)) throw new Error(`the active data key ${activeKeyId} is not in the ring`);
    for (const [id, key] of keys) {
      if (!isKeyId(id)) throw new Error(`invalid data key id ${JSON.stringify(id)}`);
      if (key.length !== KEY_BYTES) throw new Error(`data key ${id} is not ${KEY_BYTES} bytes`);
    }
    this.keys = keys;
  }

  get activeKey(): Buffer {
    return this.keys.get(this.activeKeyId)!;
  }

  key(id: string): Buffer | undefined {
    return this.keys.get(id);
  }

  get keyIds(): string[] {
    return [...this.keys.keys()];
  }
}

/** Ids go into every stored value: short, and free of the `.` that separates the value's parts. */
export const newKeyId = () => `dk${randomBytes(6).toString("base64url")}`;
export const isKeyId = (id: string) => /^[A-Za-z0-9_-]{1,32}$/.test(id);
export const generateDataKey = () => randomBytes(KEY_BYTES);
