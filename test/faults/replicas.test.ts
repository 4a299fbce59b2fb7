import { RegisterDocument } from "../../schema/generated/graphql";
import { eventually } from "../support/async";
import { orion } from "../support/cli";
import { codesOf } from "../support/graphql-client";
import { PASSWORD, uniqueEmail } from "../support/identity";
import { describeWithServices } from "../support/services";
import { startTestSupergraph, subgraphSql, type TestSupergraph } from "../support/supergraph-fixture";

// Two replicas of auth and of notification: the second of each is a separate `orion serve` process
// whose outbox relay and consumers compete with the first's. Both are SIGKILLed mid-stream while
// users register; every effect of every registration still happens exactly once.

const USERS = 60;

describeWithServices(["postgres", "redis", "rabbitmq"], "faults: a replica SIGKILLed mid-flight", () => {
  let env: TestSupergraph;

  beforeAll(async () => {
    env = await startTestSupergraph("services", {
      auth: { bcryptCost: 4 },
      // A mail the killed replica had claimed is picked up again by the survivor within seconds.
      mailDispatch: { sweepIntervalMs: 500, orphanAfterMs: 3_000 },
      logLevel: process.env.DEBUG_LOG || "silent",
    });
  }, 60_000);

  afterAll(() => env?.stop());

  /** Another replica of `subgraph`, on the same databases, store, exchange and keys as the first. */
  function replica(subgraph: "auth" | "notification") {
    const infra = env.infrastructure;
    if (infra.kind !== "services") throw new Error("services only");
    const common = {
      LOG_LEVEL: "info",
      HOST: "127.0.0.1",
      REDIS_URL: infra.redis.url,
      REDIS_KEY_PREFIX: infra.redis.prefix,
      AMQP_URL: infra.amqp.url,
      AMQP_EXCHANGE: infra.amqp.exchange,
      IDENTITY_PUBLIC_KEY: infra.keys.identityPublicKey,
    };
    const own: Record<string, string> =
      subgraph === "auth"
        ? {
            AUTH_PORT: "0",
            AUTH_DATABASE_URL: infra.databaseUrls.auth,
            AUTH_SIGNING_KEY: infra.keys.authSigningKey,
            AUTH_PASSWORD_PEPPER: infra.keys.passwordPepper,
          }
        : {
            NOTIFICATION_PORT: "0",
            NOTIFICATION_DATABASE_URL: infra.databaseUrls.notification,
            SMTP_URL: "smtpUrl" in infra.mail ? infra.mail.smtpUrl : "",
            MAIL_FROM: infra.mail.from,
          };
    return orion(["serve", subgraph], { ...common, ...own });
  }

  it("delivers every registration's effects exactly once, nothing lost, nothing twice", async () => {
    const replicas = [replica("auth"), replica("notification")];
    try {
      await eventually(
        async () => {
          for (const run of replicas) expect(run.output().stdout).toMatch(/listening/);
        },
        { timeoutMs: 60_000 },
      );
      const emails = Array.from({ length: USERS }, (_, i) => uniqueEmail(`replica-${i}`));
      let answered = 0;
      const answers = Promise.all(
        emails.map(async (email, i) => {
          // Spread over a few seconds, so the kill lands in the middle of the stream.
          await new Promise((resolve) => setTimeout(resolve, i * 50));
          const answer = await env.request(RegisterDocument, {
            input: { email, password: PASSWORD, displayName: "R" },
          });
          answered++;
          return answer;
        }),
      );
      // Killed once the notification replica has taken its share of the stream (its consumers
      // compete with the first replica's), while registrations are still arriving.
      await eventually(() => expect(replicas[1]!.output().stdout).toMatch(/event handled/), {
        timeoutMs: 10_000,
      });
      for (const run of replicas) run.child.kill("SIGKILL");
      expect(answered).toBeLessThan(USERS);
      const registered = await answers;
      expect(registered.flatMap(codesOf)).toEqual([]);
      const ids = registered.map((answer) => answer.data!.register.user.id);

      const count = async (subgraph: "user" | "notification" | "analytics", sql: string) => {
        const rows = await subgraphSql<{ user_id: string; n: string }>(env, subgraph, sql, [ids]);
        return new Map(rows.map((row) => [row.user_id, Number(row.n)]));
      };
      const exactlyOnce = (counts: Map<string, number>) => ({
        lost: ids.filter((id) => !counts.has(id)).length,
        duplicated: [...counts.values()].filter((n) => n > 1).length,
      });
      await eventually(
        async () => {
          const effects = {
            welcome: exactlyOnce(
              await count(
                "notification",
                // One per channel (e-mail and in-app): the most any channel got.
                `select user_id, max(n) as n from (select user_id, channel, count(*) as n from notifications
                 where kind = 'welcome' and user_id in (?) group by user_id, channel) per_channel group by user_id`,
              ),
            ),
            recipient: exactlyOnce(
              await count(
                "notification",
                "select user_id, count(*) as n from recipients where user_id in (?) group by user_id",
              ),
            ),
            profile: exactlyOnce(
              await count(
                "user",
                "select user_id, count(*) as n from profiles where user_id in (?) group by user_id",
              ),
            ),
            tracked: exactlyOnce(
              await count(
                "analytics",
                "select user_id, count(*) as n from events where name = 'user.registered' and user_id in (?) group by user_id",
              ),
            ),
          };
          expect(effects).toEqual({
            welcome: { lost: 0, duplicated: 0 },
            recipient: { lost: 0, duplicated: 0 },
            profile: { lost: 0, duplicated: 0 },
            tracked: { lost: 0, duplicated: 0 },
          });
        },
        { timeoutMs: 60_000 },
      );
      // One welcome e-mail each, as a mail client counts them (copies of one Message-ID are one
      // message: a send repeated because the replica died after the server took it is not a second).
      await eventually(
        () => {
          const mails = env.mailbox.messages().filter((m) => m.raw.includes("Welcome to ORION"));
          for (const mail of mails)
            expect(mail.raw).toMatch(/^Message-ID: <[0-9a-f-]+@orion\.notification>$/im);
          const welcomed = emails.map(
            (email) =>
              new Set(
                mails.filter((m) => m.to.includes(email)).map((m) => /^Message-ID: (.*)$/im.exec(m.raw)?.[1]),
              ).size,
          );
          expect(welcomed.filter((n) => n !== 1)).toEqual([]);
        },
        { timeoutMs: 20_000 },
      );
    } finally {
      for (const run of replicas) if (run.child.exitCode === null) run.child.kill("SIGKILL");
    }
  }, 120_000);
});
