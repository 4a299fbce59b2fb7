import {
  createHmac,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type JsonWebKey,
  type KeyObject,
} from "node:crypto";

import {
  decodeJwt,
  decodeProtectedHeader,
  type JWK,
  type JWTHeaderParameters,
  type JWTPayload,
  type ProtectedHeaderParameters,
  SignJWT,
} from "jose";

/**
 * Forging JWTs for attack tests: every helper takes the header and payload verbatim, so a test can
 * copy a real token's claims and change exactly one thing.
 */

export type JwtHeader = ProtectedHeaderParameters & Record<string, unknown>;

export interface DecodedJwt {
  header: JwtHeader;
  payload: JWTPayload & Record<string, unknown>;
  signature: string;
}

export function decode(token: string): DecodedJwt {
  return {
    header: decodeProtectedHeader(token) as JwtHeader,
    payload: decodeJwt(token) as DecodedJwt["payload"],
    signature: token.split(".")[2] ?? "",
  };
}

export const base64url = (value: string | Buffer | object): string =>
  Buffer.from(typeof value === "string" || Buffer.isBuffer(value) ? value : JSON.stringify(value)).toString(
    "base64url",
  );

/** header.payload.signature with whatever signature the caller gives (empty for `alg: none`). */
export const compact = (header: object, payload: object, signature = ""): string =>
  `${base64url(header)}.${base64url(payload)}.${signature}`;

/** Signs with any asymmetric key jose accepts for the header's `alg`; the header is used as given. */
export async function sign(header: JwtHeader, payload: object, key: KeyObject): Promise<string> {
  return new SignJWT(payload as JWTPayload).setProtectedHeader(header as JWTHeaderParameters).sign(key);
}

/** HMAC-SHA-256 by hand: no library check on the secret (empty, a PEM, a modulus...) gets in the way. */
export function signHs256(header: JwtHeader, payload: object, secret: string | Buffer): string {
  const input = `${base64url(header)}.${base64url(payload)}`;
  return `${input}.${createHmac("sha256", secret).update(input).digest("base64url")}`;
}

/** A fresh RSA key pair that is nobody's: the attacker's. */
export function attackerRsaKey(): { privateKey: KeyObject; publicJwk: JWK } {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  return { privateKey, publicJwk: publicKey.export({ format: "jwk" }) as JWK };
}

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?-----END \1-----/g;

/**
 * The private key (from a bundle of one or more PEM blocks) whose public half is `jwk`: the key
 * that really signs the tokens carrying that JWK's `kid`.
 */
export function privateKeyFor(bundle: string, jwk: JWK): KeyObject {
  for (const [pem] of bundle.replace(/\\n/g, "\n").matchAll(PEM_BLOCK)) {
    const key = createPrivateKey(pem);
    const publicJwk = createPublicKey(key).export({ format: "jwk" }) as JWK;
    if (publicJwk.n === jwk.n && publicJwk.e === jwk.e) return key;
  }
  throw new Error(`no private key in the bundle matches the JWK ${String(jwk.kid)}`);
}

/** The public key of a JWK in the PEM spellings an alg-confusion attacker would try as an HMAC secret. */
export function publicKeyPems(jwk: JWK): string[] {
  const key = createPublicKey({ key: jwk as JsonWebKey, format: "jwk" });
  const spki = key.export({ type: "spki", format: "pem" }).toString();
  const pkcs1 = key.export({ type: "pkcs1", format: "pem" }).toString();
  return [spki, spki.trim(), pkcs1];
}
