import { randomBytes } from "node:crypto";

import { Deadline } from "../../platform/requests/deadline";
import { PasswordHasher } from "../../subgraphs/auth/services/passwords";

// The hasher on its own: what the pepper and the pre-hash buy, and that bcrypt stays off the event loop.

const pepper = () => randomBytes(32).toString("base64");
const minute = () => Deadline.after(60_000);

describe("PasswordHasher", () => {
  const hasher = new PasswordHasher(pepper());

  it("checks the whole password: two passwords sharing their first 72 bytes are different", async () => {
    const shared = "é".repeat(40); // 80 bytes of UTF-8
    const hash = await hasher.hash(`${shared}one`, minute());
    expect(await hasher.verify(`${shared}one`, hash, minute())).toBe(true);
    expect(await hasher.verify(`${shared}two`, hash, minute())).toBe(false);
  });

  it("treats canonically equivalent spellings (NFKC) as the same password", async () => {
    const composed = "café au lait, s'il vous plaît";
    const decomposed = composed.normalize("NFD");
    expect(decomposed).not.toBe(composed);
    expect(await hasher.verify(decomposed, await hasher.hash(composed, minute()), minute())).toBe(true);
  });

  it("makes hashes useless without the pepper", async () => {
    const hash = await hasher.hash("a long enough passphrase", minute());
    expect(hash).toMatch(/^\$2b\$12\$/);
    expect(await new PasswordHasher(pepper()).verify("a long enough passphrase", hash, minute())).toBe(false);
  });

  it("answers false for an unknown account after doing the same work", async () => {
    expect(await hasher.verify("whatever it is", null, minute())).toBe(false);
  });

  it("refuses a pepper shorter than 32 bytes", () => {
    expect(() => new PasswordHasher(randomBytes(16).toString("base64"))).toThrow(/32 bytes/);
  });

  it("keeps the event loop turning while it hashes", async () => {
    // A 10 ms timer keeps firing during four concurrent cost-12 hashes (about 300 ms each); run
    // on the event loop instead of libuv's pool, they would starve it for over a second.
    let ticks = 0;
    const timer = setInterval(() => ticks++, 10);
    const started = Date.now();
    await Promise.all(
      Array.from({ length: 4 }, (_, i) => hasher.hash(`concurrent passphrase ${i}`, minute())),
    );
    clearInterval(timer);
    const elapsed = Date.now() - started;
    expect(ticks).toBeGreaterThan(elapsed / 10 / 3);
  });
});
