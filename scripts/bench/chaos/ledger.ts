import type { GraphQLResponse } from "../../../test/support/graphql-client";

/** What clients were told, kept to be checked against the databases afterwards (verify.ts). */

export interface User {
  id: string;
  email: string;
  token: string;
  refreshToken: string;
}

export const ledger = {
  outcomes: new Map<string, number>(),
  registered: [] as User[],
  registrationsFailed: [] as string[],
  loginsSeen: 0,
  tracked: [] as string[],
  trackFailed: [] as string[],
};

export const unexpected = new Map<string, number>();
export const count = (code: string, operation = "Me", message?: string) => {
  ledger.outcomes.set(code, (ledger.outcomes.get(code) ?? 0) + 1);
  // Answers no client should get under faults: where they come from, for the report.
  if (code === "INTERNAL_SERVER_ERROR" || code === "UNAUTHENTICATED") {
    const what = `${operation} ${code}: ${message ?? ""}`;
    unexpected.set(what, (unexpected.get(what) ?? 0) + 1);
  }
};
export const codeOf = (answer: GraphQLResponse<unknown> | null) =>
  answer === null ? "NETWORK_ERROR" : String(answer.errors?.[0]?.extensions?.code ?? "OK");
