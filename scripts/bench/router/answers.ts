import { post } from "../../support/graphql-client";
import type { Callers } from "./load";
import { OPERATIONS } from "./operations";
import type { Target } from "./services";
import { log } from "./settings";

/** What is checked before measuring: every target gives the same answers, and (a) runs with its edge features on. */

/** What shows that (a) ran with its edge features on: rate-limit headers, and the safelist refusing an unlisted document. */
export async function edgeEvidence(
  url: string,
  callers: Callers,
): Promise<{ rateLimitHeaders: Record<string, string | null>; unlistedOperation: string }> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${callers.users[0]}` },
    body: OPERATIONS.me.body,
  });
  await response.arrayBuffer();
  const rateLimitHeaders = Object.fromEntries(
    ["ratelimit-limit", "ratelimit-remaining", "ratelimit-reset", "ratelimit-policy"].map((name) => [
      name,
      response.headers.get(name),
    ]),
  );
  const unlisted = await post<unknown>(url, "{ __typename }", { token: callers.users[0] });
  const unlistedOperation = unlisted.errors?.length
    ? `refused: ${unlisted.errors.map((e) => e.extensions?.code ?? e.message).join(", ")}`
    : "ACCEPTED (safelist off?)";
  log(
    `(a) edge: RateLimit-Limit ${rateLimitHeaders["ratelimit-limit"]}; { __typename } ${unlistedOperation}`,
  );
  return { rateLimitHeaders, unlistedOperation };
}

/** Every target answers each read with the same data, and the mutation without errors. */
export async function validate(
  targets: Pick<Target, "label" | "url">[],
  callers: Callers,
): Promise<string[]> {
  const mismatches: string[] = [];
  for (const name of ["me", "users"] as const) {
    const operation = OPERATIONS[name];
    const { query, variables } = JSON.parse(operation.body) as {
      query: string;
      variables?: Record<string, unknown>;
    };
    const token = operation.caller === "admin" ? callers.admins[0]! : callers.users[0]!;
    let reference: string | null = null;
    for (const target of targets) {
      const response = await post<unknown>(target.url, query, { variables, token });
      if (response.errors?.length || !response.data)
        throw new Error(`${target.label} answered ${name} with errors: ${JSON.stringify(response.errors)}`);
      const data = JSON.stringify(response.data);
      if (name === "users" && (response.data as { users: { edges: unknown[] } }).users.edges.length !== 20)
        throw new Error(`${target.label}: users(first: 20) did not return 20 users`);
      reference ??= data;
      if (data !== reference) {
        mismatches.push(`${target.label}: ${name} differs from ${targets[0]!.label}`);
        log(
          `WARNING: ${target.label} answers ${name} differently:\n  ${data.slice(0, 400)}\n  vs ${reference.slice(0, 400)}`,
        );
      }
    }
  }
  const track = JSON.parse(OPERATIONS.trackEvent.body) as {
    query: string;
    variables: Record<string, unknown>;
  };
  for (const target of targets) {
    const response = await post<{ trackEvent: boolean }>(target.url, track.query, {
      variables: track.variables,
      token: callers.users[0]!,
    });
    if (response.data?.trackEvent !== true)
      throw new Error(`${target.label} answered trackEvent with ${JSON.stringify(response)}`);
  }
  log(`answers checked: ${mismatches.length === 0 ? "identical on every target" : mismatches.join("; ")}`);
  return mismatches;
}
