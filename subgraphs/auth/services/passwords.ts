import bcrypt from "bcrypt";

// Cost 12 is ~300 ms here; bcrypt runs on libuv's pool, so the event loop stays free meanwhile.
const COST = 12;

export function hashPassword(password: string): Promise<string> {
  return bcrypt.hash(password, COST);
}

// Compared against when the e-mail is unknown, so that case costs what a wrong password costs.
const DUMMY_HASH = bcrypt.hashSync("orion-dummy-password-for-timing", COST);

export async function verifyPassword(password: string, hash: string | null): Promise<boolean> {
  const matches = await bcrypt.compare(password, hash ?? DUMMY_HASH);
  return hash !== null && matches;
}
