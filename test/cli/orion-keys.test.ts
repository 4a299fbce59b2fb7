import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";

import { parseSigningKeyBundle } from "../../platform/identity/signing-keys";
import { parseConfig as parseEnv } from "../../subgraphs";
import { ACCESS_TOKEN_TTL_SECONDS, TokenIssuer } from "../../subgraphs/auth/services/token-issuer";
import { orion } from "../support/cli";

describe("orion keys generate", () => {
  it("writes key files only their owner can read, in the form the services' *_FILE variables accept", async () => {
    const out = mkdtempSync(path.join(os.tmpdir(), "orion-keys-"));
    try {
      const run = orion(["keys", "generate", "--out", out]);
      expect(await run.exited).toBe(0);
      for (const file of ["identity-private.pem", "identity-public.pem", "auth-signing.pem"]) {
        expect(statSync(path.join(out, file)).mode & 0o077).toBe(0);
      }
      const env = parseEnv(["IDENTITY_PRIVATE_KEY", "IDENTITY_PUBLIC_KEY", "AUTH_SIGNING_KEY"], {
        IDENTITY_PRIVATE_KEY_FILE: path.join(out, "identity-private.pem"),
        IDENTITY_PUBLIC_KEY_FILE: path.join(out, "identity-public.pem"),
        AUTH_SIGNING_KEY_FILE: path.join(out, "auth-signing.pem"),
      });
      expect(env.AUTH_SIGNING_KEY).toBe(readFileSync(path.join(out, "auth-signing.pem"), "utf8").trim());
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 60_000);
});

describe("orion keys rotate", () => {
  it("adds a signing key to auth-signing.pem, keeps the newest --keep, and says what to do next", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "orion-rotate-"));
    const file = path.join(dir, "auth-signing.pem");
    try {
      expect(await orion(["keys", "generate", "--out", dir]).exited).toBe(0);
      const [first] = parseSigningKeyBundle(readFileSync(file, "utf8"));

      const once = orion(["keys", "rotate", "--dir", dir]);
      expect(await once.exited).toBe(0);
      const afterOnce = parseSigningKeyBundle(readFileSync(file, "utf8"));
      expect(afterOnce.map((key) => key.kid)).toEqual([first!.kid, expect.any(String)]);
      const second = afterOnce[1]!;
      expect(statSync(file).mode & 0o077).toBe(0);
      const { stdout } = once.output();
      expect(stdout).toContain(`new signing key:  kid ${second.kid}`);
      expect(stdout).toMatch(/restart/i);
      expect(stdout).toContain("previous key keep verifying");
      expect(stdout).toContain(`${ACCESS_TOKEN_TTL_SECONDS / 60} minutes`);
      expect(stdout).toContain(`the next rotation drops kid ${first!.kid}`);
      expect(stdout).not.toContain("PRIVATE KEY");

      // The file still passes configuration as AUTH_SIGNING_KEY_FILE, and the auth subgraph signs with the new key.
      const env = parseEnv(["AUTH_SIGNING_KEY"], { AUTH_SIGNING_KEY_FILE: file });
      const issuer = await TokenIssuer.create({
        signingKey: env.AUTH_SIGNING_KEY,
        issuer: "i",
        audience: "a",
      });
      expect(issuer.kid).toBe(second.kid);
      expect(
        issuer
          .jwks()
          .keys.map((key) => key.kid)
          .sort(),
      ).toEqual([first!.kid, second.kid].sort());

      const twice = orion(["keys", "rotate", "--dir", dir, "--keep", "2"]);
      expect(await twice.exited).toBe(0);
      const afterTwice = parseSigningKeyBundle(readFileSync(file, "utf8"));
      expect(afterTwice.map((key) => key.kid)).toEqual([second.kid, expect.any(String)]);
      expect(twice.output().stdout).toContain(`removed:          kid ${first!.kid}`);
      expect(readdirSync(dir).filter((name) => name.includes("tmp"))).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it("refuses a folder without auth-signing.pem and a --keep below 1, leaving files untouched", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "orion-rotate-"));
    try {
      const missing = orion(["keys", "rotate", "--dir", dir]);
      expect(await missing.exited).toBe(1);
      expect(missing.output().stderr).toContain("keys generate");
      expect(existsSync(path.join(dir, "auth-signing.pem"))).toBe(false);

      expect(await orion(["keys", "generate", "--out", dir]).exited).toBe(0);
      const before = readFileSync(path.join(dir, "auth-signing.pem"), "utf8");
      const bad = orion(["keys", "rotate", "--dir", dir, "--keep", "0"]);
      expect(await bad.exited).toBe(1);
      expect(bad.output().stderr).toContain("--keep");
      expect(readFileSync(path.join(dir, "auth-signing.pem"), "utf8")).toBe(before);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
