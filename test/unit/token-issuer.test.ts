import { generateKeyPairSync } from "node:crypto";

import { calculateJwkThumbprint, createLocalJWKSet, decodeProtectedHeader, jwtVerify } from "jose";

import { Role } from "../../platform/identity/roles";
import {
  formatSigningKeyBundle,
  generateSigningKey,
  parseSigningKeyBundle,
  rotateSigningKeyBundle,
  SigningKeyBundleError,
  splitPemBlocks,
} from "../../platform/identity/signing-keys";
import { TokenIssuer } from "../../subgraphs/auth/services/token-issuer";

const settings = { issuer: "orion-auth", audience: "orion" };
const subject = { userId: "u-1", roles: [Role.USER], sessionId: "s-1" };
const OLD = generateSigningKey();
const NEW = generateSigningKey();

async function verify(token: string, issuer: TokenIssuer) {
  return jwtVerify(token, createLocalJWKSet(issuer.jwks()), {
    algorithms: ["RS256"],
    issuer: settings.issuer,
    audience: settings.audience,
    typ: "at+jwt",
  });
}

describe("TokenIssuer over a key bundle", () => {
  it("signs with the newest key and publishes every key's public half", async () => {
    const issuer = await TokenIssuer.create({ ...settings, signingKey: `${OLD}\n${NEW}\n` });
    const [oldKey, newKey] = parseSigningKeyBundle(`${OLD}\n${NEW}`);
    expect(issuer.kid).toBe(newKey!.kid);

    const token = await issuer.issueAccessToken(subject);
    expect(decodeProtectedHeader(token)).toEqual({ alg: "RS256", kid: newKey!.kid, typ: "at+jwt" });
    const { payload } = await verify(token, issuer);
    expect(payload).toMatchObject({ sub: "u-1", sid: "s-1", roles: ["USER"] });

    const { keys } = issuer.jwks();
    expect(keys.map((key) => key.kid)).toEqual([newKey!.kid, oldKey!.kid]); // the signing key first
    for (const key of keys) {
      expect(key).toMatchObject({ kty: "RSA", alg: "RS256", use: "sig" });
      expect(key.d).toBeUndefined();
      expect(key.kid).toBe(await calculateJwkThumbprint(key)); // kid = RFC 7638 thumbprint
    }
  });

  it("verifies a token signed by the older key against the two-key issuer's JWKS", async () => {
    const previous = await TokenIssuer.create({ ...settings, signingKey: OLD });
    const current = await TokenIssuer.create({ ...settings, signingKey: `${OLD}\n${NEW}` });
    const oldToken = await previous.issueAccessToken(subject);
    expect(decodeProtectedHeader(oldToken).kid).toBe(previous.kid);
    expect(previous.kid).not.toBe(current.kid);

    const { payload, protectedHeader } = await verify(oldToken, current);
    expect(protectedHeader.kid).toBe(previous.kid);
    expect(payload.sub).toBe("u-1");

    // Once the old key is rotated out, its tokens no longer verify.
    const later = await TokenIssuer.create({ ...settings, signingKey: `${NEW}\n${generateSigningKey()}` });
    await expect(verify(oldToken, later)).rejects.toThrow();
  });

  it("still works with a single key, and with `\\n`-escaped PEM from a one-line variable", async () => {
    const single = await TokenIssuer.create({ ...settings, signingKey: OLD });
    expect(single.jwks().keys).toEqual([expect.objectContaining({ kid: single.kid, alg: "RS256" })]);
    await verify(await single.issueAccessToken(subject), single);

    const escaped = await TokenIssuer.create({
      ...settings,
      signingKey: `${OLD}\n${NEW}`.replace(/\n/g, "\\n"),
    });
    expect(escaped.kid).toBe((await TokenIssuer.create({ ...settings, signingKey: NEW })).kid);
  });
});

describe("signing key bundles", () => {
  it("rotates: appends a fresh key that then signs, and keeps only the newest `keep`", () => {
    const [oldKey, newKey] = parseSigningKeyBundle(`${OLD}\n${NEW}`);
    const rotated = rotateSigningKeyBundle(formatSigningKeyBundle([oldKey!, newKey!]));
    const keys = parseSigningKeyBundle(rotated);
    expect(keys).toHaveLength(2);
    expect(keys[0]!.kid).toBe(newKey!.kid);
    expect([oldKey!.kid, newKey!.kid]).not.toContain(keys[1]!.kid);
    expect(rotated.endsWith("-----END PRIVATE KEY-----\n")).toBe(true);

    const three = parseSigningKeyBundle(rotateSigningKeyBundle(OLD, 3));
    expect(three.map((key) => key.kid)).toEqual([oldKey!.kid, expect.any(String)]);
    expect(parseSigningKeyBundle(rotateSigningKeyBundle(`${OLD}\n${NEW}`, 1))).toHaveLength(1);
    expect(() => rotateSigningKeyBundle(OLD, 0)).toThrow(RangeError);
  });

  it("refuses what is not a bundle of distinct RSA PKCS#8 keys, naming the problem but never the key", () => {
    const pkcs1 = generateKeyPairSync("rsa", { modulusLength: 2048 })
      .privateKey.export({ type: "pkcs1", format: "pem" })
      .toString();
    const ed25519 = generateKeyPairSync("ed25519")
      .privateKey.export({ type: "pkcs8", format: "pem" })
      .toString();
    const small = generateKeyPairSync("rsa", { modulusLength: 1024 })
      .privateKey.export({ type: "pkcs8", format: "pem" })
      .toString();
    const cases: [string, RegExp][] = [
      ["", /no PEM block/],
      [pkcs1, /key 1 of 1 is not a PKCS#8/],
      [`${OLD}\n${ed25519}`, /key 2 of 2 is ed25519, not RSA/],
      [small, /1024 bits/],
      [`${OLD}\n${OLD}`, /appears twice/],
      [`${OLD}\n${NEW.slice(0, 200)}`, /outside the PEM blocks/],
    ];
    for (const [bundle, message] of cases) {
      let error: unknown;
      try {
        parseSigningKeyBundle(bundle);
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(SigningKeyBundleError);
      expect((error as Error).message).toMatch(message);
      expect((error as Error).message).not.toContain(NEW.slice(40, 80));
    }
    expect(splitPemBlocks(`\n${OLD}\n\n${NEW}\n`)).toEqual([OLD, NEW]);
  });
});
