import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";

import { ConfigError } from "../config/parse";
import type { PlatformEnv } from "../config/platform-variables";
import { generateKek, type KeyEncryptionKeys, LocalKeyEncryptionKeys } from "./key-encryption-keys";

/** The variables holding the local KEKs: one spelling, used in every start-up error. */
export const KEK_VARIABLES = { active: "DATA_KEK", previous: "DATA_KEK_PREVIOUS" } as const;
/** Embedded mode keeps the KEK beside the other key material (platform/identity/keys.ts). */
export const DATA_KEK_FILE = "data-kek";

/** Validated as base64 256-bit keys by the catalogue (platform/config/platform-variables.ts). */
export type KekEnv = PlatformEnv<(typeof KEK_VARIABLES)[keyof typeof KEK_VARIABLES]>;

export function keyEncryptionKeysFromEnv(env: KekEnv): KeyEncryptionKeys {
  return new LocalKeyEncryptionKeys([env.DATA_KEK, ...(env.DATA_KEK_PREVIOUS ?? [])]);
}

/**
 * The error a subgraph stops with when its data keys were wrapped by a KEK it was not given: it
 * names the variables, so the operator knows what to fix, and never starts half-working.
 */
export function wrongKekError(kekIds: readonly string[], reason = "is not configured"): ConfigError {
  return new ConfigError([
    `${KEK_VARIABLES.active}: the key-encryption key ${kekIds.join(", ")} that wrapped this database's data keys ${reason}; ` +
      `set ${KEK_VARIABLES.active} to it, or keep it in ${KEK_VARIABLES.previous} while the keys are re-wrapped`,
  ]);
}

/** Embedded mode: a KEK made on first start and kept in the key folder, as the signing keys are. */
export function loadOrCreateDataKek(dir: string): string {
  const file = path.join(dir, DATA_KEK_FILE);
  if (!existsSync(file)) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeFileSync(file, generateKek(), { mode: 0o600 });
    chmodSync(file, 0o600);
  }
  return readFileSync(file, "utf8").trim();
}
