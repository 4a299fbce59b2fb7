import type { ApolloServerPlugin } from "@apollo/server";
import type { GraphQLFormattedError } from "graphql";

import { ErrorCode } from "../errors";

/**
 * An operation that got nothing because the subgraphs it needed are out (every error
 * SERVICE_UNAVAILABLE, every root field null because of one) answers HTTP 503 with `Retry-After`,
 * the longest `retryAfter` among its errors: HTTP clients, proxies and load balancers then retry
 * or fail over as they would for any outage. A partial answer keeps its 200.
 */
export const outageStatusPlugin: ApolloServerPlugin = {
  async requestDidStart() {
    return {
      async willSendResponse({ response }) {
        if (response.body.kind !== "single") return;
        const { data, errors } = response.body.singleResult;
        if (!errors?.length || !nothingAnswered(data, errors)) return;
        if (!errors.every((error) => error.extensions?.code === ErrorCode.SERVICE_UNAVAILABLE)) return;
        const retryAfter = Math.max(
          1,
          ...errors.map((error) => Number(error.extensions?.retryAfter)).filter(Number.isFinite),
        );
        response.http.status = 503;
        response.http.headers.set("retry-after", String(Math.ceil(retryAfter)));
      },
    };
  },
};

/**
 * No data, or every root field null with an error at or under it (not a field that is null by
 * itself). An error without a path (a subgraph that refused the whole fetch) may explain any of them.
 */
function nothingAnswered(
  data: Record<string, unknown> | null | undefined,
  errors: readonly GraphQLFormattedError[],
): boolean {
  if (data === undefined) return false; // a request error: its status is already set
  if (data === null) return true;
  const failedRoots = new Set(errors.map((error) => error.path?.[0]));
  const explained = (key: string) => failedRoots.has(key) || failedRoots.has(undefined);
  return Object.entries(data).every(([key, value]) => value === null && explained(key));
}
