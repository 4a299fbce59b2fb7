import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";

import { DecryptionError, type FieldContext } from "./crypto-errors";
import { generateDataKey } from "./data-key-ring";
import type { FieldCipher } from "./field-cipher";

/**
 * Crypto-shredding: values about one subject (a user) encrypted under that subject's own key, the
 * key stored wrapped by the subgraph's data key. Destroying the wrapped key (erasure) leaves those
 * values unreadable for good while the rows stay: an append-only, hash-chained audit trail keeps
 * verifying after a user is erased. The caller stores the wrapped key (a `subject_keys` row, later);
 * it is an ordinary encrypted value, so data-key rotation re-encrypts it like any other.
 *
 *     s1.<nonce>.<ciphertext+tag>        (base64url; the subject and field are associated data)
 */
const FORMAT = "s1";
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

const keyField = (subjectId: string): FieldContext => ({
  table: "subject_keys",
  column: "key",
  rowId: subjectId,
});

export class SubjectKeys {
  constructor(private readonly dataCipher: FieldCipher) {}

  /** A new subject key: `wrapped` is what to store; the cipher encrypts that subject's values. */
  create(subjectId: string): { wrapped: string; cipher: SubjectCipher } {
    const key = generateDataKey();
    return {
      wrapped: this.dataCipher.encryptBytes(key, keyField(subjectId)),
      cipher: new SubjectCipher(subjectId, key),
    };
  }

  /** `wrapped` null or undefined: the key was destroyed; the cipher then refuses with "shredded". */
  open(subjectId: string, wrapped: string | null | undefined): SubjectCipher {
    if (wrapped == null) return new SubjectCipher(subjectId, null);
    return new SubjectCipher(subjectId, this.dataCipher.decryptBytes(wrapped, keyField(subjectId)));
  }
}

export class SubjectCipher {
  constructor(
    readonly subjectId: string,
    private readonly key: Buffer | null,
  ) {}

  encrypt(plaintext: string, field: FieldContext): string {
    if (!this.key) throw new Error(`the key of subject ${this.subjectId} was destroyed`);
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = createCipheriv("aes-256-gcm", this.key, nonce).setAAD(this.aad(field));
    const sealed = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final(), cipher.getAuthTag()]);
    return `${FORMAT}.${nonce.toString("base64url")}.${sealed.toString("base64url")}`;
  }

  decrypt(value: string, field: FieldContext): string {
    if (!this.key) throw new DecryptionError("shredded", field);
    const [format, nonceText, sealedText, ...rest] = value.split(".");
    const nonce = Buffer.from(nonceText ?? "", "base64url");
    const sealed = Buffer.from(sealedText ?? "", "base64url");
    if (format !== FORMAT || rest.length > 0 || nonce.length !== NONCE_BYTES || sealed.length < TAG_BYTES)
      throw new DecryptionError("malformed", field);
    try {
      const decipher = createDecipheriv("aes-256-gcm", this.key, nonce)
        .setAAD(this.aad(field))
        .setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
      const body = sealed.subarray(0, sealed.length - TAG_BYTES);
      return Buffer.concat([decipher.update(body), decipher.final()]).toString("utf8");
    } catch {
      throw new DecryptionError("authentication", field);
    }
  }

  private aad(field: FieldContext): Buffer {
    return Buffer.from(
      ["orion-subject", FORMAT, this.subjectId, field.table, field.column, field.rowId].join("\0"),
    );
  }
}
