import { createHash } from "node:crypto";

// A client of the router's persisted operations: automatic persisted queries (a hash, with or without
// its query) over POST and GET, and the hashes codegen embeds in the generated documents.

export const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

export interface RawResponse {
  status: number;
  data?: Record<string, unknown> | null;
  errors?: { message: string; extensions?: Record<string, unknown> }[];
}

/** A request as an APQ client sends it: any mix of query, hash and variables. */
export async function post(
  url: string,
  body: {
    query?: string;
    hash?: string;
    variables?: Record<string, unknown>;
    operationName?: string;
    version?: number;
  },
  headers: Record<string, string> = {},
): Promise<RawResponse> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify({
      query: body.query,
      variables: body.variables,
      operationName: body.operationName,
      ...(body.hash !== undefined
        ? { extensions: { persistedQuery: { version: body.version ?? 1, sha256Hash: body.hash } } }
        : {}),
    }),
  });
  return { status: response.status, ...((await response.json()) as Omit<RawResponse, "status">) };
}

/** GET with the hash alone in `extensions` (CSRF prevention wants the preflight header). */
export async function getByHash(url: string, hash: string): Promise<RawResponse> {
  const target = new URL(url);
  target.searchParams.set("extensions", JSON.stringify({ persistedQuery: { version: 1, sha256Hash: hash } }));
  const response = await fetch(target, { headers: { "apollo-require-preflight": "true" } });
  return { status: response.status, ...((await response.json()) as Omit<RawResponse, "status">) };
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
/** The hash codegen embeds in each generated document (codegen.ts, persistedDocuments). */
export const hashOf = (document: unknown) => (document as { __meta__: { hash: string } }).__meta__.hash;
