/**
 * The router reuses a signed identity assertion per caller for a few seconds and subgraphs
 * remember the assertions they verified: neither cache may ever accept what a fresh check would refuse.
 */
import { generateKeyPairSync } from "node:crypto";

import { SignJWT } from "jose";

import {
  AssertionSigner,
  AssertionVerifier,
  type Identity,
  InvalidIdentityAssertion,
  MissingIdentityAssertion,
} from "../../platform/identity/identity";
import { Role } from "../../platform/identity/roles";
import { VerifiedTokens } from "../../platform/identity/verified-tokens";

const routerKeys = generateKeyPairSync("ed25519");
const otherKeys = generateKeyPairSync("ed25519");
const alice: Identity = {
  kind: "user",
  userId: "6f1c1c36-08a3-4b8e-9d51-0b1f3c2f8a11",
  roles: [Role.USER],
  sessionId: "s1",
  apiKeyId: null,
  scopes: null,
};
const laptop = { ip: "203.0.113.7", userAgent: "laptop" };

describe("identity assertions", () => {
  it("reuses one assertion per caller and client, and signs anew when either differs", async () => {
    const signer = new AssertionSigner(routerKeys.privateKey);
    const first = await signer.sign(alice, laptop);
    expect(await signer.sign(alice, laptop)).toBe(first);
    expect(await signer.sign(alice, { ...laptop, ip: "203.0.113.8" })).not.toBe(first);
    expect(await signer.sign({ ...alice, roles: [Role.USER, Role.ADMIN] }, laptop)).not.toBe(first);
    expect(await signer.sign({ ...alice, sessionId: "s2" }, laptop)).not.toBe(first);
  });

  it("verifies once and then answers from memory, with the same identity", async () => {
    const verifier = new AssertionVerifier(routerKeys.publicKey);
    const token = await new AssertionSigner(routerKeys.privateKey).sign(alice, laptop);
    const fresh = await verifier.verify(token);
    expect(fresh.identity).toEqual(alice);
    expect(fresh.client).toEqual(laptop);
    expect(await verifier.verify(token)).toBe(fresh);
  });

  it("still refuses a tampered or foreign assertion after a good one is remembered", async () => {
    const verifier = new AssertionVerifier(routerKeys.publicKey);
    const good = await new AssertionSigner(routerKeys.privateKey).sign(alice, laptop);
    await verifier.verify(good);

    const [header, payload, signature] = good.split(".");
    const claims = JSON.parse(Buffer.from(payload!, "base64url").toString()) as Record<string, unknown>;
    const asAdmin = Buffer.from(JSON.stringify({ ...claims, roles: ["USER", "ADMIN"] })).toString(
      "base64url",
    );
    await expect(verifier.verify(`${header}.${asAdmin}.${signature}`)).rejects.toBeInstanceOf(
      InvalidIdentityAssertion,
    );
    const foreign = await new AssertionSigner(otherKeys.privateKey).sign(alice, laptop);
    await expect(verifier.verify(foreign)).rejects.toBeInstanceOf(InvalidIdentityAssertion);
    await expect(verifier.verify(foreign)).rejects.toBeInstanceOf(InvalidIdentityAssertion);
  });

  it("refuses a missing assertion: no header is never an anonymous caller", async () => {
    const verifier = new AssertionVerifier(routerKeys.publicKey);
    for (const header of [undefined, ""]) {
      await expect(verifier.verify(header)).rejects.toBeInstanceOf(MissingIdentityAssertion);
      await expect(verifier.verify(header)).rejects.toBeInstanceOf(InvalidIdentityAssertion);
    }
  });

  it("never remembers an assertion past its expiry", async () => {
    const verifier = new AssertionVerifier(routerKeys.publicKey);
    const expired = await new SignJWT({ roles: ["USER"] })
      .setProtectedHeader({ alg: "EdDSA", typ: "orion-identity+jwt" })
      .setIssuer("orion-router")
      .setAudience("orion-subgraphs")
      .setSubject(alice.kind === "user" ? alice.userId : "")
      .setIssuedAt(Math.floor(Date.now() / 1000) - 120)
      .setExpirationTime(Math.floor(Date.now() / 1000) - 60)
      .sign(routerKeys.privateKey);
    await expect(verifier.verify(expired)).rejects.toBeInstanceOf(InvalidIdentityAssertion);

    const tokens = new VerifiedTokens<{ userId: string }>({ maxAgeMs: 60_000 });
    tokens.remember("expired", { userId: "u" }, Math.floor(Date.now() / 1000) - 1);
    expect(tokens.get("expired")).toBeUndefined();
    tokens.remember("valid", { userId: "u" }, Math.floor(Date.now() / 1000) + 30);
    expect(tokens.get("valid")).toEqual({ userId: "u" });
  });
});
