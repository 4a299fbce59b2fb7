import { createPublicKey, generateKeyPairSync, randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";

import { generateSigningKey, SIGNING_KEY_FILE } from "./signing-keys";

export interface KeyMaterial {
  /** Ed25519 PKCS#8: the router signs identity assertions with it. */
  identityPrivateKey: string;
  /** Ed25519 SPKI: subgraphs verify the assertions with it. */
  identityPublicKey: string;
  /** RSA PKCS#8, one or more PEM blocks oldest first: the auth subgraph signs access tokens (RS256) with the newest. */
  authSigningKey: string;
  /** 32 random bytes, base64: the auth subgraph's password pepper (HMAC key applied before bcrypt). */
  passwordPepper: string;
}

export const KEY_FILES: Record<keyof KeyMaterial, string> = {
  identityPrivateKey: "identity-private.pem",
  identityPublicKey: "identity-public.pem",
  authSigningKey: SIGNING_KEY_FILE,
  passwordPepper: "password-pepper",
};

function generateIdentityPair(): Pick<KeyMaterial, "identityPrivateKey" | "identityPublicKey"> {
  const identity = generateKeyPairSync("ed25519");
  return {
    identityPrivateKey: identity.privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
    identityPublicKey: identity.publicKey.export({ type: "spki", format: "pem" }).toString(),
  };
}

export const generatePepper = () => randomBytes(32).toString("base64");

export function generateKeyMaterial(): KeyMaterial {
  return {
    ...generateIdentityPair(),
    authSigningKey: generateSigningKey(),
    passwordPepper: generatePepper(),
  };
}

export function writeKeyMaterial(dir: string, keys: Partial<KeyMaterial>): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  for (const [name, file] of Object.entries(KEY_FILES) as [keyof KeyMaterial, string][]) {
    const value = keys[name];
    if (value === undefined) continue;
    const target = path.join(dir, file);
    writeFileSync(target, value, { mode: 0o600 });
    chmodSync(target, 0o600);
  }
}

/**
 * Embedded mode: keys made on first start and kept beside the local cluster, so tokens and
 * passwords survive restarts. A piece added by a newer version is created without replacing the rest.
 */
export function loadOrCreateKeyMaterial(dir: string): KeyMaterial {
  const has = (name: keyof KeyMaterial) => existsSync(path.join(dir, KEY_FILES[name]));
  const missing: Partial<KeyMaterial> = {};
  if (!has("identityPrivateKey") || !has("identityPublicKey")) Object.assign(missing, generateIdentityPair());
  if (!has("authSigningKey")) missing.authSigningKey = generateSigningKey();
  if (!has("passwordPepper")) missing.passwordPepper = generatePepper();
  writeKeyMaterial(dir, missing);
  const read = (name: keyof KeyMaterial) => readFileSync(path.join(dir, KEY_FILES[name]), "utf8");
  return {
    identityPrivateKey: read("identityPrivateKey"),
    identityPublicKey: read("identityPublicKey"),
    authSigningKey: read("authSigningKey"),
    passwordPepper: read("passwordPepper").trim(),
  };
}

export function publicKeyOf(privatePem: string): string {
  return createPublicKey(privatePem).export({ type: "spki", format: "pem" }).toString();
}
