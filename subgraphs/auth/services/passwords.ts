import bcrypt from "bcrypt";

// Cost 12 is ~300 ms here; bcrypt runs on libuv's pool, so the event loop stays free meanwhile.
const COST = 12;

export function hashPassword(password: string): Promise<string> {
  return bcrypt.hash(password, COST);
}

// Compared against when the e-mail is unknown, so that case costs what a wrong password costs.
// Made on first use, off the event loop: importing this module must not cost every process 300 ms.
let dummyHash: Promise<string> | undefined;

export async function verifyPassword(password: string, hash: string | null): Promise<boolean> {
  dummyHash ??= bcrypt.hash("orion-dummy-password-for-timing", COST);
  const matches = await bcrypt.compare(password, hash ?? (await dummyHash));
  return hash !== null && matches;
}
