import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
} from "node:crypto";
import {
  chmodSync,
  chownSync,
  existsSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import path from "node:path";

/**
 * The auth signing key bundle: one or more RSA PKCS#8 PEM blocks, oldest first. The last one signs
 * new access tokens; every one is published in the JWKS, so tokens signed by a retired key keep
 * verifying until it leaves the bundle. `AUTH_SIGNING_KEY`, `AUTH_SIGNING_KEY_FILE` and the
 * embedded `auth-signing.pem` all hold a bundle (a single key is a bundle of one).
 */

/** The bundle's file name: the embedded mode's keys folder and `orion keys generate` use it. */
export const SIGNING_KEY_FILE = "auth-signing.pem";
/** Keys kept by a rotation: the new one, and the previous one so its tokens still verify. */
export const DEFAULT_KEPT_SIGNING_KEYS = 2;
const MIN_RSA_BITS = 2048;
const PKCS8_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?-----END \1-----/g;

export class SigningKeyBundleError extends Error {
  constructor(message: string) {
    super(`AUTH_SIGNING_KEY: ${message}`);
    this.name = "SigningKeyBundleError";
  }
}

export interface SigningKey {
  /** The PEM block, normalised (no surrounding whitespace). */
  pem: string;
  /** RFC 7638 JWK thumbprint (SHA-256) of the public key: the `kid` of its tokens. */
  kid: string;
}

/**
 * The PEM blocks of a bundle, in order. Only whitespace may sit between them: anything else (a
 * truncated block, a stray line) is refused rather than skipped. Escaped `\\n` (an environment
 * variable written on one line) counts as a newline, as for every PEM variable.
 */
export function splitPemBlocks(bundle: string): string[] {
  const text = bundle.replace(/\\n/g, "\n");
  const blocks = [...text.matchAll(PKCS8_BLOCK)].map((match) => match[0].trim());
  const outside = text.replace(PKCS8_BLOCK, "").trim();
  // The stray text is not quoted: it may be part of a private key.
  if (outside)
    throw new SigningKeyBundleError("text outside the PEM blocks (a truncated or malformed block?)");
  return blocks;
}

/** Validates a bundle: at least one block, each an RSA (≥ 2048-bit) PKCS#8 private key, no key twice. */
export function parseSigningKeyBundle(bundle: string): SigningKey[] {
  const blocks = splitPemBlocks(bundle);
  if (blocks.length === 0) throw new SigningKeyBundleError("no PEM block found");
  const keys = blocks.map((pem, index) => {
    const where = `key ${index + 1} of ${blocks.length}`;
    if (!pem.startsWith("-----BEGIN PRIVATE KEY-----")) {
      throw new SigningKeyBundleError(`${where} is not a PKCS#8 private key ("BEGIN PRIVATE KEY")`);
    }
    let key: KeyObject;
    try {
      key = createPrivateKey(pem);
    } catch {
      throw new SigningKeyBundleError(`${where} cannot be read as a PKCS#8 private key`);
    }
    if (key.asymmetricKeyType !== "rsa") {
      throw new SigningKeyBundleError(`${where} is ${key.asymmetricKeyType ?? "not asymmetric"}, not RSA`);
    }
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
    if (bits < MIN_RSA_BITS) {
      throw new SigningKeyBundleError(`${where} has ${bits} bits; at least ${MIN_RSA_BITS} are required`);
    }
    return { pem, kid: thumbprintOf(key) };
  });
  const seen = new Set<string>();
  for (const key of keys) {
    if (seen.has(key.kid)) throw new SigningKeyBundleError(`key ${key.kid} appears twice`);
    seen.add(key.kid);
  }
  return keys;
}

export function formatSigningKeyBundle(keys: readonly Pick<SigningKey, "pem">[]): string {
  return `${keys.map((key) => key.pem).join("\n")}\n`;
}

export function generateSigningKey(): string {
  return generateKeyPairSync("rsa", { modulusLength: MIN_RSA_BITS })
    .privateKey.export({ type: "pkcs8", format: "pem" })
    .toString()
    .trim();
}

/**
 * Appends a fresh 2048-bit RSA key (which then signs) and keeps only the newest `keep` keys. With
 * the default 2, the previous signing key stays published, so its tokens keep verifying.
 */
export function rotateSigningKeyBundle(bundle: string, keep: number = DEFAULT_KEPT_SIGNING_KEYS): string {
  if (!Number.isInteger(keep) || keep < 1)
    throw new RangeError(`keep must be a whole number ≥ 1, not ${keep}`);
  const keys = [...parseSigningKeyBundle(bundle), { pem: generateSigningKey() }];
  return formatSigningKeyBundle(keys.slice(-keep));
}

export interface RotatedKeyFile {
  file: string;
  /** The bundle as written, oldest first. */
  keys: SigningKey[];
  /** kid of the new signing key. */
  added: string;
  /** kids dropped by this rotation. */
  removed: string[];
}

/**
 * Rotates `<dir>/auth-signing.pem`: the new bundle goes to a temporary file (mode 0600, the old
 * file's owner) renamed over the old one, so a crash never leaves a half-written key file.
 */
export function rotateSigningKeyFile(dir: string, keep: number = DEFAULT_KEPT_SIGNING_KEYS): RotatedKeyFile {
  const file = path.join(dir, SIGNING_KEY_FILE);
  if (!existsSync(file)) {
    throw new Error(`${file} does not exist: create it first with \`orion keys generate --out ${dir}\``);
  }
  const before = parseSigningKeyBundle(readFileSync(file, "utf8"));
  const rotated = rotateSigningKeyBundle(formatSigningKeyBundle(before), keep);
  const keys = parseSigningKeyBundle(rotated);
  const temporary = `${file}.${process.pid}.tmp`;
  try {
    writeFileSync(temporary, rotated, { mode: 0o600, flag: "wx" });
    chmodSync(temporary, 0o600);
    // Same owner as before (e.g. uid 1000 for the compose containers): whoever could read the old
    // file is its owner or root, and both may hand the new one to that owner. Best effort: a
    // non-root owner outside the file's group keeps the file as their own, still readable by them.
    const { uid, gid } = statSync(file);
    try {
      chownSync(temporary, uid, gid);
    } catch {
      /* see above */
    }
    renameSync(temporary, file);
  } finally {
    rmSync(temporary, { force: true });
  }
  const kept = new Set(keys.map((key) => key.kid));
  return {
    file,
    keys,
    added: keys.at(-1)!.kid,
    removed: before.filter((key) => !kept.has(key.kid)).map((key) => key.kid),
  };
}

/** RFC 7638 thumbprint of an RSA key's public half: SHA-256 over {"e","kty","n"} in that order. */
function thumbprintOf(key: KeyObject): string {
  const jwk = createPublicKey(key).export({ format: "jwk" });
  const canonical = JSON.stringify({ e: jwk.e, kty: jwk.kty, n: jwk.n });
  return createHash("sha256").update(canonical).digest("base64url");
}
