import { generateKeyPairSync, createPublicKey } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";

export interface KeyMaterial {
  /** Ed25519 PKCS#8: the router signs identity assertions with it. */
  identityPrivateKey: string;
  /** Ed25519 SPKI: subgraphs verify the assertions with it. */
  identityPublicKey: string;
  /** RSA PKCS#8: the auth subgraph signs access tokens (RS256) with it. */
  authSigningKey: string;
}

export const KEY_FILES: Record<keyof KeyMaterial, string> = {
  identityPrivateKey: "identity-private.pem",
  identityPublicKey: "identity-public.pem",
  authSigningKey: "auth-signing.pem",
};

export function generateKeyMaterial(): KeyMaterial {
  const identity = generateKeyPairSync("ed25519");
  const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 });
  return {
    identityPrivateKey: identity.privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
    identityPublicKey: identity.publicKey.export({ type: "spki", format: "pem" }).toString(),
    authSigningKey: rsa.privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
  };
}

export function writeKeyMaterial(dir: string, keys: KeyMaterial): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  for (const [name, file] of Object.entries(KEY_FILES) as [keyof KeyMaterial, string][]) {
    const target = path.join(dir, file);
    writeFileSync(target, keys[name], { mode: 0o600 });
    chmodSync(target, 0o600);
  }
}

/** Embedded mode: keys made on first start and kept beside the local cluster, so tokens survive restarts. */
export function loadOrCreateKeyMaterial(dir: string): KeyMaterial {
  const complete = Object.values(KEY_FILES).every((file) => existsSync(path.join(dir, file)));
  if (!complete) writeKeyMaterial(dir, generateKeyMaterial());
  const read = (file: string) => readFileSync(path.join(dir, file), "utf8");
  return {
    identityPrivateKey: read(KEY_FILES.identityPrivateKey),
    identityPublicKey: read(KEY_FILES.identityPublicKey),
    authSigningKey: read(KEY_FILES.authSigningKey),
  };
}

export function publicKeyOf(privatePem: string): string {
  return createPublicKey(privatePem).export({ type: "spki", format: "pem" }).toString();
}
