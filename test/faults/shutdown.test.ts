import { RegisterDocument } from "../../schema/generated/graphql";
import { codesOf } from "../support/graphql-client";
import { PASSWORD, uniqueEmail } from "../support/identity";
import { describeWithServices } from "../support/services";
import { startTestSupergraph, subgraphSql, type TestSupergraph } from "../support/supergraph-fixture";

// The router stops (SIGTERM's path) while registrations are in flight: each one it accepted is
// answered and durable, each it refused left nothing behind; no answer is INTERNAL_SERVER_ERROR.

const USERS = 30;

describeWithServices(
  ["postgres", "redis", "rabbitmq"],
  "faults: the router stops with requests in flight",
  () => {
    let env: TestSupergraph;

    beforeAll(async () => {
      env = await startTestSupergraph("services", {
        auth: { bcryptCost: 4 },
        logLevel: process.env.DEBUG_LOG || "silent",
      });
    }, 60_000);

    afterAll(() => env?.stop());

    it("answers what it accepted, and what it refused left nothing", async () => {
      const emails = Array.from({ length: USERS }, (_, i) => uniqueEmail(`shutdown-${i}`));
      const outcomes = Promise.all(
        emails.map(async (email, i) => {
          await new Promise((resolve) => setTimeout(resolve, i * 10));
          return env
            .request(RegisterDocument, { input: { email, password: PASSWORD, displayName: "S" } })
            .then((answer) => ({ email, answer }))
            .catch(() => ({ email, answer: null })); // refused at the door: the router no longer listens
        }),
      );
      await new Promise((resolve) => setTimeout(resolve, (USERS * 10) / 2));
      await env.supergraph.router.stop();
      const results = await outcomes;

      const answered = results.filter((result) => result.answer?.data?.register);
      const refused = results.filter((result) => !result.answer?.data?.register);
      expect(answered.length).toBeGreaterThan(0); // the stop landed mid-stream
      expect(refused.length).toBeGreaterThan(0);
      expect(results.flatMap((result) => (result.answer ? codesOf(result.answer) : []))).not.toContain(
        "INTERNAL_SERVER_ERROR",
      );
      const accounts = await subgraphSql<{ email: string }>(
        env,
        "auth",
        "select email from users where email in (?)",
        [emails],
      );
      const stored = new Set(accounts.map((account) => account.email));
      // Lost: told it succeeded, not there. Left behind: told it failed (or never answered), there.
      expect({
        lost: answered.filter((result) => !stored.has(result.email)).length,
        leftBehind: refused.filter((result) => stored.has(result.email)).length,
      }).toEqual({ lost: 0, leftBehind: 0 });
    });
  },
);
