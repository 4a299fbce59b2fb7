import { DecryptionError, type FieldContext } from "../../../platform/crypto/crypto-errors";
import { DataKeyRing, generateDataKey } from "../../../platform/crypto/data-key-ring";
import { FieldCipher } from "../../../platform/crypto/field-cipher";
import { SubjectKeys } from "../../../platform/crypto/subject-keys";

// Crypto-shredding: a subject's values stay in place, and destroying the subject's key makes them
// unreadable for good (issue 16: erasure keeps the audit chain verifiable).

const ROW: FieldContext = { table: "audit_events", column: "details", rowId: "42" };

function setup() {
  const ring = new DataKeyRing("audit", "dk1", new Map([["dk1", generateDataKey()]]));
  return new SubjectKeys(new FieldCipher(() => ring));
}

test("a subject's value decrypts with the subject's stored key, and with nobody else's", () => {
  const keys = setup();
  const ada = keys.create("user-ada");
  const bob = keys.create("user-bob");

  const stored = ada.cipher.encrypt("ada@example.test changed her e-mail", ROW);

  expect(ada.wrapped).toMatch(/^v1\.dk1\./);
  expect(keys.open("user-ada", ada.wrapped).decrypt(stored, ROW)).toBe("ada@example.test changed her e-mail");
  expect(() => keys.open("user-bob", bob.wrapped).decrypt(stored, ROW)).toThrow(DecryptionError);
  // A wrapped key copied onto another subject does not unwrap.
  expect(() => keys.open("user-bob", ada.wrapped)).toThrow(DecryptionError);
  expect(() => keys.open("user-ada", ada.wrapped).decrypt(stored, { ...ROW, rowId: "43" })).toThrow(
    DecryptionError,
  );
});

test("once the subject's key is destroyed, its values fail as shredded without showing anything", () => {
  const keys = setup();
  const ada = keys.create("user-ada");
  const stored = ada.cipher.encrypt("ada@example.test", ROW);

  const shredded = keys.open("user-ada", null);

  let failure: unknown;
  try {
    shredded.decrypt(stored, ROW);
  } catch (error) {
    failure = error;
  }
  expect(failure).toMatchObject({ failure: "shredded", code: "DECRYPTION_FAILED" });
  expect(String((failure as Error).message)).not.toContain("ada@");
  expect(() => shredded.encrypt("more", ROW)).toThrow(/destroyed/);
});
