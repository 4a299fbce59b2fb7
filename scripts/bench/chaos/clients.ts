import { randomUUID } from "node:crypto";

import type { TypedDocumentNode } from "@graphql-typed-document-node/core";
import { getOperationAST } from "graphql";

import {
  LoginDocument,
  MeDocument,
  RefreshSessionDocument,
  RegisterDocument,
  TrackEventDocument,
} from "../../../schema/generated/graphql";
import type { GraphQLResponse } from "../../../test/support/graphql-client";
import type { TestSupergraph } from "../../../test/support/supergraph-fixture";
import { sleep } from "../../support/timing";
import { codeOf, count, ledger, type User } from "./ledger";

/**
 * The traffic: clients that behave as ORION asks them to (every mutation carries an
 * Idempotency-Key and is retried with it after SERVICE_UNAVAILABLE), each signing up, signing in,
 * refreshing, reading and tracking at random, every answer written to the ledger.
 */

export const PASSWORD = "chaos soak: a long passphrase";
const MAX_ATTEMPTS = 6;

const operationName = (document: TypedDocumentNode<unknown, never>) =>
  getOperationAST(document)?.name?.value ?? "anonymous";

/** A mutation as a well-behaved client sends it: one key, retried on SERVICE_UNAVAILABLE and in-progress CONFLICT. */
async function mutate<T, V>(
  env: TestSupergraph,
  document: TypedDocumentNode<T, V>,
  variables: V,
  token?: string,
): Promise<GraphQLResponse<T> | null> {
  const key = randomUUID();
  let answer: GraphQLResponse<T> | null = null;
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    answer = await env
      .request(document, variables, { token, headers: { "idempotency-key": key } })
      .catch(() => null);
    const code = codeOf(answer);
    count(code, operationName(document), answer?.errors?.[0]?.message);
    const retryable =
      code === "NETWORK_ERROR" ||
      code === "SERVICE_UNAVAILABLE" ||
      (code === "CONFLICT" && answer?.errors?.[0]?.extensions?.retryAfter !== undefined);
    if (!retryable) return answer;
    const hint = Number(answer?.errors?.[0]?.extensions?.retryAfter ?? 1);
    await sleep(Math.min(2_000, hint * 1000) * (0.5 + Math.random()));
  }
  return answer;
}

export async function registerUser(env: TestSupergraph): Promise<User | null> {
  const email = `chaos-${randomUUID()}@example.com`;
  const answer = await mutate(env, RegisterDocument, {
    input: { email, password: PASSWORD, displayName: "Chaos" },
  });
  const payload = answer?.data?.register;
  if (!payload) {
    ledger.registrationsFailed.push(email);
    return null;
  }
  const user = { id: payload.user.id, email, token: payload.accessToken, refreshToken: payload.refreshToken };
  ledger.registered.push(user);
  return user;
}

/** One operation of the mix as `user`; returns the user with any new tokens. */
async function act(env: TestSupergraph, user: User, roll: number): Promise<User> {
  if (roll < 0.35) {
    const answer = await mutate(env, LoginDocument, { input: { email: user.email, password: PASSWORD } });
    const payload = answer?.data?.login;
    if (!payload) return user;
    ledger.loginsSeen++;
    return { ...user, token: payload.accessToken, refreshToken: payload.refreshToken };
  }
  if (roll < 0.5) {
    const answer = await mutate(env, RefreshSessionDocument, { refreshToken: user.refreshToken });
    const payload = answer?.data?.refreshSession;
    return payload ? { ...user, token: payload.accessToken, refreshToken: payload.refreshToken } : user;
  }
  if (roll < 0.8) {
    const answer = await env.request(MeDocument, {}, { token: user.token }).catch(() => null);
    count(codeOf(answer), "Me", answer?.errors?.[0]?.message);
    return user;
  }
  const probe = randomUUID();
  const answer = await mutate(
    env,
    TrackEventDocument,
    { input: { name: "chaos.probe", properties: { probe } } },
    user.token,
  );
  (answer?.data?.trackEvent ? ledger.tracked : ledger.trackFailed).push(probe);
  return user;
}

export async function client(env: TestSupergraph, until: number): Promise<void> {
  let me: User | null = null;
  while (Date.now() < until) {
    const roll = Math.random();
    if (!me || roll < 0.15) {
      me = (await registerUser(env)) ?? me;
    } else {
      me = await act(env, me, roll);
    }
    await sleep(20 + Math.random() * 60);
  }
}
