import { createCipheriv, createDecipheriv, createHmac, randomBytes } from "node:crypto";

/**
 * The key-encryption keys (KEKs) that wrap each subgraph's data keys. The interface is what a cloud
 * KMS adapter implements later (wrap/unwrap by key id, the key itself never leaving the KMS); the
 * local implementation holds 256-bit keys from configuration (DATA_KEK, DATA_KEK_PREVIOUS).
 */
export interface KeyEncryptionKeys {
  /** The KEK new data keys are wrapped with. */
  readonly activeKekId: string;
  /** Whether `kekId` can unwrap (a data key wrapped by another KEK cannot be opened here). */
  has(kekId: string): boolean;
  /** `context` is bound in as associated data: a wrapped key moved to another row does not unwrap. */
  wrap(dataKey: Buffer, context: string): Promise<WrappedDataKey>;
  unwrap(wrapped: WrappedDataKey, context: string): Promise<Buffer>;
}

export interface WrappedDataKey {
  kekId: string;
  /** Opaque to the caller: the adapter's own format (locally: nonce | ciphertext | GCM tag). */
  wrapped: Buffer;
}

export const KEY_BYTES = 32;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

export class UnwrapError extends Error {
  constructor(readonly kekId: string) {
    super(`data key did not unwrap with key-encryption key ${kekId}`);
    this.name = "UnwrapError";
  }
}

/**
 * A KEK's id is a fingerprint of the key (a keyed hash, so it reveals nothing of it): the id stored
 * with each wrapped data key then tells at start-up whether the configured KEK is the right one,
 * with nothing else to configure or keep in step.
 */
export function kekIdOf(kek: Buffer): string {
  return `kek-${createHmac("sha256", kek).update("orion kek id v1").digest("base64url").slice(0, 16)}`;
}

export const generateKek = () => randomBytes(KEY_BYTES).toString("base64");

/** 256-bit KEKs held in memory; the first of `keks` is the active one, the others only unwrap. */
export class LocalKeyEncryptionKeys implements KeyEncryptionKeys {
  readonly activeKekId: string;
  private readonly keys = new Map<string, Buffer>();

  constructor(keks: readonly Buffer[]) {
    if (keks.length === 0) throw new Error("at least one key-encryption key is needed");
    for (const kek of keks) {
      if (kek.length !== KEY_BYTES) throw new Error(`a key-encryption key must be ${KEY_BYTES} bytes`);
      this.keys.set(kekIdOf(kek), kek);
    }
    this.activeKekId = kekIdOf(keks[0]!);
  }

  has(kekId: string): boolean {
    return this.keys.has(kekId);
  }

  async wrap(dataKey: Buffer, context: string): Promise<WrappedDataKey> {
    const kek = this.keys.get(this.activeKekId)!;
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = createCipheriv("aes-256-gcm", kek, nonce).setAAD(aad(this.activeKekId, context));
    const sealed = Buffer.concat([nonce, cipher.update(dataKey), cipher.final(), cipher.getAuthTag()]);
    return { kekId: this.activeKekId, wrapped: sealed };
  }

  async unwrap({ kekId, wrapped }: WrappedDataKey, context: string): Promise<Buffer> {
    const kek = this.keys.get(kekId);
    if (!kek || wrapped.length < NONCE_BYTES + TAG_BYTES) throw new UnwrapError(kekId);
    try {
      const decipher = createDecipheriv("aes-256-gcm", kek, wrapped.subarray(0, NONCE_BYTES))
        .setAAD(aad(kekId, context))
        .setAuthTag(wrapped.subarray(wrapped.length - TAG_BYTES));
      const body = wrapped.subarray(NONCE_BYTES, wrapped.length - TAG_BYTES);
      return Buffer.concat([decipher.update(body), decipher.final()]);
    } catch {
      throw new UnwrapError(kekId);
    }
  }
}

const aad = (kekId: string, context: string) => Buffer.from(`orion-data-key\0${kekId}\0${context}`);
