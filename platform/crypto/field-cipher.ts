import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";

import { DecryptionError, type FieldContext } from "./crypto-errors";
import type { DataKeyRing } from "./data-key-ring";

/**
 * Field-level encryption: AES-256-GCM under the subgraph's active data key, a random 96-bit nonce,
 * and the subgraph, table, column and row id as associated data (a value copied to another column,
 * row or subgraph does not decrypt). Stored as text, so it fits the existing text columns:
 *
 *     v1.<keyId>.<nonce>.<ciphertext+tag>        (nonce and ciphertext base64url)
 *
 * The key id in each value is what lets old values decrypt after a rotation, and tells the
 * re-encryption job which rows still use an old key (`like 'v1.<old id>.%'`).
 */
export const FIELD_FORMAT_VERSION = "v1";
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

/** The prefix every value encrypted under `keyId` starts with: how a caller counts or finds them in SQL. */
export const valuePrefix = (keyId: string) => `${FIELD_FORMAT_VERSION}.${keyId}.`;

export class FieldCipher {
  constructor(private readonly ring: () => DataKeyRing) {}

  encrypt(plaintext: string, field: FieldContext): string {
    return this.encryptBytes(Buffer.from(plaintext, "utf8"), field);
  }

  decrypt(value: string, field: FieldContext): string {
    return this.decryptBytes(value, field).toString("utf8");
  }

  encryptBytes(plaintext: Buffer, field: FieldContext): string {
    const ring = this.ring();
    const keyId = ring.activeKeyId;
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = createCipheriv("aes-256-gcm", ring.activeKey, nonce).setAAD(
      associatedData(ring.subgraph, field, keyId),
    );
    const sealed = Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
    return `${valuePrefix(keyId)}${nonce.toString("base64url")}.${sealed.toString("base64url")}`;
  }

  decryptBytes(value: string, field: FieldContext): Buffer {
    const parts = value.split(".");
    const [version, keyId, nonceText, sealedText] = parts;
    if (parts.length !== 4 || version !== FIELD_FORMAT_VERSION || !keyId || !nonceText || !sealedText)
      throw new DecryptionError("malformed", field);
    const nonce = Buffer.from(nonceText, "base64url");
    const sealed = Buffer.from(sealedText, "base64url");
    if (nonce.length !== NONCE_BYTES || sealed.length < TAG_BYTES)
      throw new DecryptionError("malformed", field, keyId);
    const ring = this.ring();
    const key = ring.key(keyId);
    if (!key) throw new DecryptionError("unknown-key", field, keyId);
    try {
      const decipher = createDecipheriv("aes-256-gcm", key, nonce)
        .setAAD(associatedData(ring.subgraph, field, keyId))
        .setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
      return Buffer.concat([
        decipher.update(sealed.subarray(0, sealed.length - TAG_BYTES)),
        decipher.final(),
      ]);
    } catch {
      throw new DecryptionError("authentication", field, keyId);
    }
  }

  /** Whether the re-encryption job must rewrite `value` (it is under another key than the active one). */
  needsReencryption(value: string): boolean {
    return !value.startsWith(valuePrefix(this.ring().activeKeyId));
  }
}

// NUL-separated: no table, column or id contains NUL, so two different contexts never join equal.
const associatedData = (subgraph: string, field: FieldContext, keyId: string) =>
  Buffer.from(
    ["orion-field", FIELD_FORMAT_VERSION, subgraph, field.table, field.column, field.rowId, keyId].join("\0"),
  );
