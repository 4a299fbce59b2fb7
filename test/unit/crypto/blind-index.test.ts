import { randomBytes } from "node:crypto";

import { BlindIndex, normaliseEmail } from "../../../platform/crypto/blind-index";

// Lookups on encrypted columns: equal after normalisation → equal index; nothing readable in it.

const setup = (key = randomBytes(32), subgraph = "user") => new BlindIndex(key, subgraph);

test("an e-mail index is stable and ignores case, surrounding spaces and compatibility forms", () => {
  const index = setup();
  const reference = index.email("users.email", "ada@example.test");

  expect(index.email("users.email", "  ADA@Example.TEST ")).toBe(reference);
  // Full-width letters (U+FF41...) fold to ASCII under NFKC.
  expect(index.email("users.email", "ａｄａ@example.test")).toBe(reference);
  expect(index.email("users.email", "ada2@example.test")).not.toBe(reference);
  expect(reference).toMatch(/^[A-Za-z0-9_-]{43}$/);
  expect(normaliseEmail(" Ａda@EXAMPLE.test ")).toBe("ada@example.test");
});

test("the index depends on the index key, the subgraph and the index name", () => {
  const key = randomBytes(32);
  const value = "ada@example.test";
  const reference = setup(key).email("users.email", value);

  expect(setup(key).email("users.email", value)).toBe(reference);
  expect(setup(randomBytes(32)).email("users.email", value)).not.toBe(reference);
  expect(setup(key, "auth").email("users.email", value)).not.toBe(reference);
  expect(setup(key).email("contacts.email", value)).not.toBe(reference);
});

test("search tokens: a name is found by each word's prefixes of 3 or more characters, case-insensitively", () => {
  const index = setup();
  const stored = new Set(index.tokens("profiles.name", "Ada Lovelace-Byron"));
  const finds = (search: string) => {
    const query = index.query("profiles.name", search);
    return query !== null && query.tokens.every((token) => stored.has(token));
  };

  expect(
    ["ada", "ADA", "lov", "Lovel", "lovelace", "byr", "ada lov", "Byron Ada"].filter(finds),
  ).toHaveLength(8);
  expect(["ovelace", "adb", "lovelacex", "ada smith"].filter(finds)).toEqual([]);
});

test("a query word under 3 characters matches only a whole word; an empty query searches nothing", () => {
  const index = setup();
  const stored = new Set(index.tokens("profiles.name", "Li Wei"));
  const finds = (search: string) => index.query("profiles.name", search)!.tokens.every((t) => stored.has(t));

  expect(finds("li")).toBe(true);
  expect(finds("l")).toBe(false);
  expect(finds("we")).toBe(false);
  expect(index.query("profiles.name", "  -- ")).toBeNull();
});

test("prefixes stop at maxPrefix: a longer query matches on that many characters and asks for a recheck", () => {
  const index = setup();
  const stored = new Set(index.tokens("profiles.name", "Wolfeschlegelsteinhausen", { maxPrefix: 12 }));
  const query = index.query("profiles.name", "Wolfeschlegelstein", { maxPrefix: 12 })!;
  const short = index.query("profiles.name", "Wolfe", { maxPrefix: 12 })!;

  expect(query.tokens.every((token) => stored.has(token))).toBe(true);
  expect(query.recheck).toBe(true);
  expect(short.recheck).toBe(false);
  // Each word whole + prefixes of 3..12 characters: 1 + 10 tokens, none readable.
  expect(stored.size).toBe(11);
  for (const token of stored) expect(token).toMatch(/^[A-Za-z0-9_-]{22}$/);
});

test("a prefix never splits a character outside the Basic Multilingual Plane", () => {
  const index = setup();
  const stored = new Set(index.tokens("profiles.name", "𝒜𝒹𝒶 Ωmega"));
  expect(index.query("profiles.name", "ωme")!.tokens.every((t) => stored.has(t))).toBe(true);
  // NFKC folds the mathematical script letters to "ada".
  expect(index.query("profiles.name", "ada")!.tokens.every((t) => stored.has(t))).toBe(true);
});
