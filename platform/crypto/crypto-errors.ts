/**
 * Failures of the encryption kit. None of their messages carries a value, plaintext or ciphertext:
 * they are logged, and a subgraph answers INTERNAL_SERVER_ERROR once (issue 16, "Bad input").
 */

/** Where an encrypted value lives; bound into its associated data, so a value moved elsewhere fails. */
export interface FieldContext {
  table: string;
  column: string;
  /** The row's primary key (for a per-subject value, the subject's id). */
  rowId: string;
}

export type DecryptionFailure =
  /** Not in the kit's format (never encrypted, truncated, another version). */
  | "malformed"
  /** Its key id is not in the ring: retired, from another subgraph, or invented. */
  | "unknown-key"
  /** The GCM tag did not verify: tampered, or copied from another column or row. */
  | "authentication"
  /** Its subject's key was destroyed (crypto-shredding): the value is gone for good. */
  | "shredded";

export class DecryptionError extends Error {
  readonly code = "DECRYPTION_FAILED";

  constructor(
    readonly failure: DecryptionFailure,
    readonly field: FieldContext,
    readonly keyId?: string,
  ) {
    super(
      `cannot decrypt ${field.table}.${field.column} of row ${field.rowId}: ${failure}` +
        (keyId ? ` (key ${keyId})` : ""),
    );
    this.name = "DecryptionError";
  }
}

/** Retiring a data key that values still use would make them unreadable: refused. */
export class KeyInUseError extends Error {
  readonly code = "KEY_IN_USE";

  constructor(
    readonly keyId: string,
    readonly reason: string,
  ) {
    super(`data key ${keyId} cannot be retired: ${reason}`);
    this.name = "KeyInUseError";
  }
}
