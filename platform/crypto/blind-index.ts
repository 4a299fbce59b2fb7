import { createHmac, hkdfSync } from "node:crypto";

/**
 * Keyed blind indexes: lookups on encrypted columns without the plaintext. An exact index is the
 * HMAC-SHA-256 of the normalised value (login by e-mail, uniqueness); search tokens are HMACs of
 * each word's prefixes (ADMIN search). Without the index key, a copy of the database cannot test
 * guesses against them.
 *
 * The index key is the subgraph's own long-lived key (a `data_keys` row of purpose `index`), not
 * derived from the data key: a data key rotates, and an index derived from it would change with it,
 * so every lookup would have to try each live key and every row be re-indexed at each rotation.
 * Rotating the index key itself (after a compromise) means re-indexing every row; see decision 012.
 *
 * Each index has its own sub-key (HKDF on its name), so equal values in two indexes do not match.
 */

/** NFKC (full-width and compatibility forms fold together), trimmed, inner whitespace collapsed. */
export const normaliseText = (value: string) => value.normalize("NFKC").trim().replace(/\s+/gu, " ");
/** E-mail addresses compare case-insensitively (what users expect, though RFC 5321 allows otherwise). */
export const normaliseEmail = (value: string) => normaliseText(value).toLowerCase();

export interface TokenOptions {
  /** Shortest prefix indexed (shorter query words only match whole words). */
  minPrefix?: number;
  /** Longest prefix indexed: a longer query word matches on this many characters, then needs a recheck. */
  maxPrefix?: number;
}
const DEFAULT_TOKENS = { minPrefix: 3, maxPrefix: 12 } satisfies Required<TokenOptions>;

export interface SearchQuery {
  /** Every one must be among a row's tokens (AND). */
  tokens: string[];
  /** Some query word was longer than maxPrefix: matches are candidates; compare their decrypted values. */
  recheck: boolean;
}

export class BlindIndex {
  private readonly subKeys = new Map<string, Buffer>();

  constructor(
    private readonly indexKey: Buffer,
    private readonly subgraph: string,
  ) {}

  /** Exact-match index of an already normalised value: the full 256-bit HMAC, so a unique index on it is sound. */
  exact(index: string, normalised: string): string {
    return this.mac(index, `=${normalised}`).toString("base64url");
  }

  email(index: string, address: string): string {
    return this.exact(index, normaliseEmail(address));
  }

  /** The tokens stored for a value: each word whole, and its prefixes from minPrefix to maxPrefix characters. */
  tokens(index: string, value: string, options: TokenOptions = {}): string[] {
    const { minPrefix, maxPrefix } = { ...DEFAULT_TOKENS, ...options };
    const tokens = new Set<string>();
    for (const word of words(value)) {
      tokens.add(this.token(index, "w", word.join("")));
      for (let length = minPrefix; length <= Math.min(word.length, maxPrefix); length++)
        tokens.add(this.token(index, "p", word.slice(0, length).join("")));
    }
    return [...tokens].sort();
  }

  /** What a search looks for; null when the query has no word to search by (empty or punctuation only). */
  query(index: string, search: string, options: TokenOptions = {}): SearchQuery | null {
    const { minPrefix, maxPrefix } = { ...DEFAULT_TOKENS, ...options };
    const queryWords = words(search);
    if (queryWords.length === 0) return null;
    let recheck = false;
    const tokens = queryWords.map((word) => {
      if (word.length < minPrefix) return this.token(index, "w", word.join(""));
      if (word.length > maxPrefix) recheck = true;
      return this.token(index, "p", word.slice(0, maxPrefix).join(""));
    });
    return { tokens: [...new Set(tokens)], recheck };
  }

  // 128 bits are plenty for a token (no uniqueness rests on it) and halve what each row stores.
  private token(index: string, kind: "w" | "p", text: string): string {
    return this.mac(index, `${kind}:${text}`).subarray(0, 16).toString("base64url");
  }

  private mac(index: string, input: string): Buffer {
    let key = this.subKeys.get(index);
    if (!key) {
      const info = `orion blind index v1\0${this.subgraph}\0${index}`;
      key = Buffer.from(hkdfSync("sha256", this.indexKey, Buffer.alloc(0), info, 32));
      this.subKeys.set(index, key);
    }
    return createHmac("sha256", key).update(input, "utf8").digest();
  }
}

/** Lower-cased words of letters and digits, as arrays of code points (a prefix never splits a character). */
function words(value: string): string[][] {
  return normaliseText(value)
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter(Boolean)
    .map((word) => Array.from(word));
}
