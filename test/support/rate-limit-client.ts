// A client of the router's rate limits: who the caller is (token, API key, address, origin) and the
// answer with its headers.

export interface Answer {
  status: number;
  headers: Headers;
  data?: Record<string, unknown> | null;
  errors?: { message: string; extensions?: Record<string, unknown> }[];
}

export interface Caller {
  token?: string;
  apiKey?: string;
  /** Sent as X-Forwarded-For, which the router trusts from loopback. */
  ip?: string;
  origin?: string;
}

/** The rate-limit headers of an answer, as numbers (each must be present). */
export function limitsOf(answer: Answer): { limit: number; remaining: number; reset: number } {
  const header = (name: string) => {
    const value = answer.headers.get(name);
    expect(value).toMatch(/^\d+$/);
    return Number(value);
  };
  return {
    limit: header("ratelimit-limit"),
    remaining: header("ratelimit-remaining"),
    reset: header("ratelimit-reset"),
  };
}
/** POSTs `query` to the router as `caller`. */
export async function post(
  url: string,
  query: string,
  caller: Caller = {},
  variables: Record<string, unknown> = {},
): Promise<Answer> {
  const response = await fetch(url, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      ...(caller.token ? { authorization: `Bearer ${caller.token}` } : {}),
      ...(caller.apiKey ? { "x-api-key": caller.apiKey } : {}),
      ...(caller.ip ? { "x-forwarded-for": caller.ip } : {}),
      ...(caller.origin ? { origin: caller.origin } : {}),
    },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as Omit<Answer, "status" | "headers">;
  return { status: response.status, headers: response.headers, ...body };
}
