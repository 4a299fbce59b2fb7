import type { TypedDocumentNode } from "@graphql-typed-document-node/core";
import { parse } from "graphql";
import { decodeJwt, importPKCS8 } from "jose";

import type { SubgraphName } from "../../platform/config";
import {
  ANONYMOUS,
  type ClientInfo,
  type Identity,
  IDENTITY_HEADER,
  NO_CLIENT,
  signIdentityAssertion,
} from "../../platform/identity/identity";
import { Role } from "../../platform/identity/roles";
import {
  CreateApiKeyDocument,
  LoginDocument,
  MyNotificationsDocument,
  RefreshSessionDocument,
  RegisterDocument,
  VerifyEmailDocument,
} from "../../schema/generated/graphql";
import { eventually } from "./async";
import type { GraphQLResponse } from "./graphql-client";
import { type Mailbox, subgraphSql, type TestSupergraph } from "./supergraph-fixture";

export const PASSWORD = "orion e2e: a long passphrase";

export interface SignedIn {
  id: string;
  email: string;
  token: string;
  refreshToken: string;
  sessionId: string;
}

const counters = { users: 0 };

/** A fresh address per call, so specs in one file never share an account by accident. */
export const uniqueEmail = (label: string) => `${label}-${process.pid}-${++counters.users}@example.com`;

/**
 * Registers as a well-behaved client does: SERVICE_UNAVAILABLE ("nothing was done, retry after")
 * is retried a few times, so a loaded CI machine does not fail the setup of a test about something else.
 */
export async function register(env: TestSupergraph, email: string, password = PASSWORD): Promise<SignedIn> {
  const input = { email, password, displayName: email.split("@")[0]! };
  let response = await env.request(RegisterDocument, { input });
  for (let attempt = 1; attempt < 4 && retryable(response.errors); attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 500 * attempt));
    response = await env.request(RegisterDocument, { input });
  }
  if (response.errors) throw new Error(`register failed: ${JSON.stringify(response.errors)}`);
  const payload = response.data!.register;
  return signedIn(payload.user.id, email, payload.accessToken, payload.refreshToken);
}

const retryable = (errors: readonly { extensions?: Record<string, unknown> }[] | undefined) =>
  errors?.length === 1 && errors[0]!.extensions?.code === "SERVICE_UNAVAILABLE";

/**
 * Registers a user and waits until the notification subgraph has welcomed them and holds their
 * recipient row (what sendNotification checks): the welcome and the recipient copy come from the
 * same event on two queues, so either may land first.
 */
export async function registerKnownRecipient(env: TestSupergraph, label: string): Promise<SignedIn> {
  const user = await register(env, uniqueEmail(label));
  await eventually(async () => {
    const inbox = await env.request(MyNotificationsDocument, { first: 1 }, { token: user.token });
    expect(inbox.data?.me?.notifications.totalCount).toBeGreaterThan(0);
    const recipients = await subgraphSql(env, "notification", "select 1 from recipients where user_id = ?", [
      user.id,
    ]);
    expect(recipients).toHaveLength(1);
  });
  return user;
}

export async function login(
  env: TestSupergraph,
  email: string,
  password = PASSWORD,
  headers: Record<string, string> = {},
): Promise<SignedIn> {
  const response = await env.request(LoginDocument, { input: { email, password } }, { headers });
  if (response.errors) throw new Error(`login failed: ${JSON.stringify(response.errors)}`);
  const payload = response.data!.login;
  return signedIn(payload.user.id, email, payload.accessToken, payload.refreshToken);
}

export function signedIn(id: string, email: string, token: string, refreshToken: string): SignedIn {
  return { id, email, token, refreshToken, sessionId: String(decodeJwt(token).sid) };
}

/** The one-time token in the newest e-mail to `to` whose link goes to `path` (quoted-printable undone). */
export async function tokenFromMail(
  mailbox: Mailbox,
  to: string,
  path: string,
  skip = 0,
  timeoutMs = 10_000,
): Promise<string> {
  return eventually(
    async () => {
      const tokens = mailbox
        .messages()
        .filter((message) => message.to.includes(to))
        .map((message) => message.raw.replace(/=\r?\n/g, "").replace(/=3D/gi, "="))
        .flatMap((raw) =>
          [...raw.matchAll(new RegExp(`${path}\\?token=([A-Za-z0-9_-]{43})`, "g"))].map((m) => m[1]!),
        )
        .filter((token, index, all) => all.indexOf(token) === index);
      if (tokens.length <= skip) throw new Error(`no ${path} e-mail #${skip + 1} to ${to} yet`);
      return tokens[skip]!;
    },
    { timeoutMs },
  );
}

/** A raw document for shapes codegen does not cover (aliases, invalid input). */
export const rawDocument = <T = Record<string, unknown>, V = Record<string, unknown>>(source: string) =>
  parse(source) as TypedDocumentNode<T, V>;

/** A new API key of `owner` with `scopes`, as the request options that send it (`X-API-Key`). */
export async function apiKeyHeaders(
  env: TestSupergraph,
  owner: Pick<SignedIn, "token">,
  scopes: string[],
): Promise<{ headers: Record<string, string> }> {
  const created = await env.request(
    CreateApiKeyDocument,
    { input: { name: `test key ${scopes.join(" ")}`, scopes } },
    { token: owner.token },
  );
  if (created.errors) throw new Error(`createApiKey failed: ${JSON.stringify(created.errors)}`);
  return { headers: { "x-api-key": created.data!.createApiKey.secret } };
}

/**
 * The first ADMIN: registers `email` (listed in the supergraph's AUTH_ADMIN_EMAILS), proves the
 * address with the link mailed to it, and refreshes the session so the token carries the role.
 * Returns the signed-in ADMIN with the roles the refreshed session reported.
 */
export async function firstAdmin(
  env: TestSupergraph,
  email: string,
): Promise<SignedIn & { roles: string[] }> {
  const root = await register(env, email);
  const token = await tokenFromMail(env.mailbox, email, "/verify-email");
  const verified = await env.request(VerifyEmailDocument, { token });
  if (verified.data?.verifyEmail !== true) throw new Error(`verifyEmail failed: ${JSON.stringify(verified)}`);
  const refreshed = await env.request(RefreshSessionDocument, { refreshToken: root.refreshToken });
  const session = refreshed.data!.refreshSession;
  return { ...root, token: session.accessToken, roles: session.user.roles };
}

/** `user` as the router asserts a session's caller (roles USER; the session id from the token). */
export const userIdentity = (user: Pick<SignedIn, "id" | "sessionId">): Identity => ({
  kind: "user",
  userId: user.id,
  roles: [Role.USER],
  sessionId: user.sessionId,
  apiKeyId: null,
  scopes: null,
});

/**
 * The `orion-identity` header the router would send for `identity` and `client`, signed with this
 * supergraph's key: subgraphs answer nothing without it, so a test that calls one straight needs it.
 */
export async function routerAssertion(
  env: TestSupergraph,
  identity: Identity = ANONYMOUS,
  client: ClientInfo = NO_CLIENT,
): Promise<Record<string, string>> {
  const key = await importPKCS8(env.supergraph.keys.identityPrivateKey, "EdDSA");
  return { [IDENTITY_HEADER]: await signIdentityAssertion(identity, client, key) };
}

/** A raw POST straight to a subgraph's /graphql (bypassing the router), answered as graphqlClient does. */
export async function postToSubgraph(
  env: TestSupergraph,
  subgraph: SubgraphName,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<GraphQLResponse<Record<string, unknown>>> {
  const response = await fetch(env.supergraph.subgraphs[subgraph].url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  return { status: response.status, ...((await response.json()) as object) };
}
