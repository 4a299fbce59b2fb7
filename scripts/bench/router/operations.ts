import { print } from "graphql";

import { MeDocument, TrackEventDocument, UsersDocument } from "../../../schema/generated/graphql";

/**
 * The query mix every target gets, taken from the repository's own client operations
 * (schema/operations/*.graphql, as codegen prints them), so a safelist built from them admits it.
 */

export type OperationName = "me" | "users" | "trackEvent";

export interface Operation {
  name: OperationName;
  /** Who sends it: a signed-in USER (one of many) or the ADMIN (the user list needs ADMIN). */
  caller: "user" | "admin";
  body: string;
}

export const OPERATIONS: Record<OperationName, Operation> = {
  // `me` with fields from all four subgraphs (auth, user, notification, analytics).
  me: { name: "me", caller: "user", body: JSON.stringify({ query: print(MeDocument), operationName: "Me" }) },
  // 20 users, each resolved as an entity in user, notification and analytics.
  users: {
    name: "users",
    caller: "admin",
    body: JSON.stringify({ query: print(UsersDocument), operationName: "Users", variables: { first: 20 } }),
  },
  // A write: one row in the analytics subgraph.
  trackEvent: {
    name: "trackEvent",
    caller: "user",
    body: JSON.stringify({
      query: print(TrackEventDocument),
      operationName: "TrackEvent",
      variables: { input: { name: "page.viewed", properties: { path: "/home" } } },
    }),
  },
};

/** One cycle of the mix: reads dominate, as in an app (2 × me, 1 × users(first: 20), 1 × trackEvent). */
export const MIX: OperationName[] = ["me", "users", "me", "trackEvent"];
