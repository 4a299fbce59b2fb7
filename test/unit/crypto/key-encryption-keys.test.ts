import { mkdtempSync, rmSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";

import { ConfigError, parseEnv } from "../../../platform/config";
import {
  DATA_KEK_FILE,
  keyEncryptionKeysFromEnv,
  loadOrCreateDataKek,
} from "../../../platform/crypto/kek-config";
import { generateKek, kekIdOf, UnwrapError } from "../../../platform/crypto/key-encryption-keys";

// The KEKs come from configuration: validated at start with the variable named, several held by id
// so a KEK can rotate too.

const kekEnv = (env: NodeJS.ProcessEnv) => parseEnv(["DATA_KEK", "DATA_KEK_PREVIOUS"], env);

function problemsOf(env: NodeJS.ProcessEnv): string[] {
  try {
    kekEnv(env);
    return [];
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
}

test("a missing or malformed KEK is a configuration error naming the variable, never the value", () => {
  const short = Buffer.alloc(16, 7).toString("base64");

  expect(problemsOf({})[0]).toMatch(/^DATA_KEK: is required/);
  expect(problemsOf({ DATA_KEK: short })[0]).toMatch(/^DATA_KEK: must be exactly 32 random bytes/);
  expect(problemsOf({ DATA_KEK: short })[0]).not.toContain(short);
  expect(problemsOf({ DATA_KEK: generateKek(), DATA_KEK_PREVIOUS: `${generateKek()},nope` })[0]).toMatch(
    /^DATA_KEK_PREVIOUS: each key must be 32 random bytes/,
  );
  expect(
    problemsOf({ DATA_KEK: generateKek(), DATA_KEK_PREVIOUS: `${generateKek()}, ${generateKek()}` }),
  ).toEqual([]);
});

test("a data key wrapped by the previous KEK still unwraps after DATA_KEK changes, and new wraps use the new one", async () => {
  const [oldKek, newKek] = [generateKek(), generateKek()];
  const before = keyEncryptionKeysFromEnv(kekEnv({ DATA_KEK: oldKek }));
  const dataKey = Buffer.alloc(32, 9);
  const wrapped = await before.wrap(dataKey, "user\0data\0dk1");

  const after = keyEncryptionKeysFromEnv(kekEnv({ DATA_KEK: newKek, DATA_KEK_PREVIOUS: oldKek }));

  expect(wrapped.kekId).toBe(kekIdOf(Buffer.from(oldKek, "base64")));
  expect(await after.unwrap(wrapped, "user\0data\0dk1")).toEqual(dataKey);
  expect((await after.wrap(dataKey, "user\0data\0dk1")).kekId).toBe(after.activeKekId);
  expect(after.activeKekId).not.toBe(wrapped.kekId);
});

test("a wrapped key fails to unwrap under another KEK or bound to another context", async () => {
  const keks = keyEncryptionKeysFromEnv(kekEnv({ DATA_KEK: generateKek() }));
  const other = keyEncryptionKeysFromEnv(kekEnv({ DATA_KEK: generateKek() }));
  const wrapped = await keks.wrap(Buffer.alloc(32, 1), "user\0data\0dk1");

  await expect(other.unwrap(wrapped, "user\0data\0dk1")).rejects.toBeInstanceOf(UnwrapError);
  await expect(keks.unwrap(wrapped, "auth\0data\0dk1")).rejects.toBeInstanceOf(UnwrapError);
  await expect(keks.unwrap(wrapped, "user\0data\0dk2")).rejects.toBeInstanceOf(UnwrapError);
});

test("embedded mode makes the KEK once, in a 0600 file beside the other keys, and reads the same one after", () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), "orion-kek-"));
  try {
    const first = loadOrCreateDataKek(path.join(dir, "keys"));

    expect(loadOrCreateDataKek(path.join(dir, "keys"))).toBe(first);
    expect(problemsOf({ DATA_KEK: first })).toEqual([]);
    expect(statSync(path.join(dir, "keys", DATA_KEK_FILE)).mode & 0o777).toBe(0o600);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
