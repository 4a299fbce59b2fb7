import { DecryptionError, type FieldContext } from "../../../platform/crypto/crypto-errors";
import { DataKeyRing, generateDataKey } from "../../../platform/crypto/data-key-ring";
import { FieldCipher } from "../../../platform/crypto/field-cipher";

// A subgraph's values as the kit stores them: what a copy of the database holds must not read,
// move, or change without failing loudly, and a failure must never show the value.

const EMAIL: FieldContext = {
  table: "users",
  column: "email",
  rowId: "6f1c0a4e-1d2b-4c55-9e0b-2b7d8c1d9a10",
};
const SECRET = "ada.lovelace@example.test";

function setup(subgraph = "user") {
  const keys = new Map([["dkOld", generateDataKey()]]);
  let ring = new DataKeyRing(subgraph, "dkOld", keys);
  const cipher = new FieldCipher(() => ring);
  /** A rotation: a new active key, the old one kept for decryption. */
  const rotate = (id: string) => {
    keys.set(id, generateDataKey());
    ring = new DataKeyRing(subgraph, id, new Map(keys));
  };
  const retire = (id: string) => {
    keys.delete(id);
    ring = new DataKeyRing(subgraph, ring.activeKeyId, new Map(keys));
  };
  return { cipher, rotate, retire, keys };
}

function failureOf(attempt: () => unknown): DecryptionError {
  try {
    attempt();
  } catch (error) {
    expect(error).toBeInstanceOf(DecryptionError);
    return error as DecryptionError;
  }
  throw new Error("decryption did not fail");
}

test("a value round-trips, and its stored form is v1.<keyId>.<nonce>.<ciphertext> without the plaintext", () => {
  const { cipher } = setup();

  const stored = cipher.encrypt(SECRET, EMAIL);

  expect(stored).toMatch(/^v1\.dkOld\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]+$/);
  expect(stored).not.toContain("lovelace");
  expect(cipher.decrypt(stored, EMAIL)).toBe(SECRET);
  expect(cipher.decrypt(cipher.encrypt("", EMAIL), EMAIL)).toBe("");
  expect(cipher.decrypt(cipher.encrypt("名前 ✓", EMAIL), EMAIL)).toBe("名前 ✓");
});

test("the same value encrypts differently each time (a random nonce per value)", () => {
  const { cipher } = setup();
  expect(cipher.encrypt(SECRET, EMAIL)).not.toBe(cipher.encrypt(SECRET, EMAIL));
});

test.each([
  ["another column", { ...EMAIL, column: "display_name" }],
  ["another row", { ...EMAIL, rowId: "0b0c2d1e-0000-4000-8000-000000000001" }],
  ["another table", { ...EMAIL, table: "contacts" }],
])("a value copied to %s does not decrypt", (_, elsewhere) => {
  const { cipher } = setup();
  const stored = cipher.encrypt(SECRET, EMAIL);

  expect(failureOf(() => cipher.decrypt(stored, elsewhere)).failure).toBe("authentication");
});

test("a value copied to another subgraph's database does not decrypt, even under the same key", () => {
  const { cipher, keys } = setup("user");
  const notification = new FieldCipher(() => new DataKeyRing("notification", "dkOld", keys));

  const stored = cipher.encrypt(SECRET, EMAIL);

  expect(failureOf(() => notification.decrypt(stored, EMAIL)).failure).toBe("authentication");
});

test("a tampered ciphertext, nonce or key id fails with a typed error that never contains the value", () => {
  const { cipher } = setup();
  const stored = cipher.encrypt(SECRET, EMAIL);
  const [version, keyId, nonce, body] = stored.split(".") as [string, string, string, string];
  const flip = (text: string) => `${text[0] === "A" ? "B" : "A"}${text.slice(1)}`;

  const tampered = [
    [version, keyId, nonce, flip(body)],
    [version, keyId, flip(nonce), body],
  ].map((parts) => failureOf(() => cipher.decrypt(parts.join("."), EMAIL)));
  const wrongKey = failureOf(() => cipher.decrypt([version, "dkNope", nonce, body].join("."), EMAIL));

  expect(tampered.map((error) => error.failure)).toEqual(["authentication", "authentication"]);
  expect(wrongKey).toMatchObject({ failure: "unknown-key", keyId: "dkNope", code: "DECRYPTION_FAILED" });
  for (const error of [...tampered, wrongKey]) {
    expect(error.message).toContain("users.email");
    expect(error.message).not.toContain(SECRET);
    expect(error.message).not.toContain(body);
    expect(String(error.stack)).not.toContain(SECRET);
  }
});

test.each([
  "plain text",
  "v1.dkOld",
  "v2.dkOld.AAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAA",
  "v1.dkOld.AA.AAAA",
  "",
])("%j is refused as malformed, not decrypted into garbage", (value) => {
  const { cipher } = setup();
  expect(failureOf(() => cipher.decrypt(value, EMAIL)).failure).toBe("malformed");
});

test("after a rotation new values use the new key, old values still decrypt, and the job can tell them apart", () => {
  const { cipher, rotate } = setup();
  const before = cipher.encrypt(SECRET, EMAIL);

  rotate("dkNew");
  const after = cipher.encrypt(SECRET, EMAIL);

  expect(before.startsWith("v1.dkOld.")).toBe(true);
  expect(after.startsWith("v1.dkNew.")).toBe(true);
  expect(cipher.decrypt(before, EMAIL)).toBe(SECRET);
  expect(cipher.decrypt(after, EMAIL)).toBe(SECRET);
  expect(cipher.needsReencryption(before)).toBe(true);
  expect(cipher.needsReencryption(after)).toBe(false);
});

test("once the old key is retired, a value still under it fails as unknown-key", () => {
  const { cipher, rotate, retire } = setup();
  const before = cipher.encrypt(SECRET, EMAIL);
  rotate("dkNew");

  retire("dkOld");

  expect(failureOf(() => cipher.decrypt(before, EMAIL))).toMatchObject({
    failure: "unknown-key",
    keyId: "dkOld",
  });
});
