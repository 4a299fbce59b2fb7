import { createHmac } from "node:crypto";

import bcrypt from "bcrypt";

import { AdmissionQueue } from "../../../platform/requests/admission";
import type { Deadline } from "../../../platform/requests/deadline";

// Cost 12 is ~300 ms here; bcrypt runs on libuv's pool, so the event loop stays free meanwhile.
export const DEFAULT_BCRYPT_COST = 12;
const COST_12_MS = 300;

/**
 * Password hashing: bcrypt over HMAC-SHA-256(pepper, NFKC(password)). The pre-hash is 44 base64
 * characters whatever the password's length, so bcrypt's 72-byte truncation never applies; the
 * pepper lives outside the database, so a stolen `users` table alone cannot be brute-forced.
 */
export class PasswordHasher {
  private dummyHash: Promise<string> | undefined;
  private readonly pepper: Buffer;
  /**
   * Hashing is the costliest thing ORION does (decision 006): a burst of logins beyond what the
   * cores can hash waits in a bounded queue, and what could not start before its caller gives up
   * is refused at once instead of finishing for nobody.
   */
  readonly admission: AdmissionQueue;

  /** `cost` other than 12 is for tests that register hundreds of users to exercise something else. */
  constructor(
    pepperBase64: string,
    private readonly cost = DEFAULT_BCRYPT_COST,
    admission?: { concurrency?: number; maxQueued?: number },
  ) {
    this.pepper = Buffer.from(pepperBase64, "base64");
    if (this.pepper.length < 32) throw new Error("The password pepper must be at least 32 bytes");
    this.admission = new AdmissionQueue({ ...admission, initialTaskMs: COST_12_MS / 2 ** (12 - cost) });
  }

  hash(password: string, deadline: Deadline): Promise<string> {
    return this.admission.run(() => bcrypt.hash(this.preHash(password), this.cost), deadline);
  }

  /**
   * An unknown account is checked against a dummy hash, so that case costs what a wrong password
   * costs. The dummy is made on first use, off the event loop.
   */
  async verify(password: string, hash: string | null, deadline: Deadline): Promise<boolean> {
    this.dummyHash ??= bcrypt.hash("orion-dummy-password-for-timing", this.cost);
    const against = hash ?? (await this.dummyHash);
    const matches = await this.admission.run(() => bcrypt.compare(this.preHash(password), against), deadline);
    return hash !== null && matches;
  }

  private preHash(password: string): string {
    return createHmac("sha256", this.pepper).update(password.normalize("NFKC"), "utf8").digest("base64");
  }
}
