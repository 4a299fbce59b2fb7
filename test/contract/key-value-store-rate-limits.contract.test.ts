import { RateLimiterRes } from "rate-limiter-flexible";

import { describeWithServices } from "../support/services";
import { STORE_ADAPTERS, storeSetup } from "./key-value-stores";

for (const adapter of STORE_ADAPTERS) {
  describeWithServices(adapter.services, adapter.name, () => {
    const setup = storeSetup(adapter);

    describe("rate limiters", () => {
      test("a key gets its points, then is rejected with the time until the next one", async () => {
        const { store, key } = await setup();
        const limiter = store.rateLimiter({ name: key("login"), points: 3, durationSeconds: 60 });

        for (let i = 0; i < 3; i++) await limiter.consume("alice");
        const rejection: unknown = await limiter.consume("alice").catch((error: unknown) => error);

        expect(rejection).toBeInstanceOf(RateLimiterRes);
        const res = rejection as RateLimiterRes;
        expect(res.remainingPoints).toBe(0);
        expect(res.msBeforeNext).toBeGreaterThan(0);
        expect(res.msBeforeNext).toBeLessThanOrEqual(60_000);
        // Another key has its own points.
        await expect(limiter.consume("bob")).resolves.toBeInstanceOf(RateLimiterRes);
      });

      test("of 20 concurrent consumes on 5 points, exactly 5 succeed", async () => {
        const { store, key } = await setup();
        const limiter = store.rateLimiter({ name: key("burst"), points: 5, durationSeconds: 60 });

        const results = await Promise.allSettled(Array.from({ length: 20 }, () => limiter.consume("alice")));

        expect(results.filter((result) => result.status === "fulfilled")).toHaveLength(5);
        for (const result of results.filter((r) => r.status === "rejected")) {
          expect((result as PromiseRejectedResult).reason).toBeInstanceOf(RateLimiterRes);
        }
      });

      test("delete resets a key's counter", async () => {
        const { store, key } = await setup();
        const limiter = store.rateLimiter({ name: key("reset"), points: 1, durationSeconds: 60 });
        await limiter.consume("alice");
        await expect(limiter.consume("alice")).rejects.toBeInstanceOf(RateLimiterRes);

        await limiter.delete("alice");

        await expect(limiter.consume("alice")).resolves.toBeInstanceOf(RateLimiterRes);
      });

      test("limiters with different names count apart; one name is one limiter", async () => {
        const { store, key } = await setup();
        const loginName = key("login");
        const login = store.rateLimiter({ name: loginName, points: 1, durationSeconds: 60 });
        const signup = store.rateLimiter({ name: key("signup"), points: 1, durationSeconds: 60 });
        await login.consume("alice");

        await expect(signup.consume("alice")).resolves.toBeInstanceOf(RateLimiterRes);
        // Asking again for a name (say, per request) gives the same counters.
        const again = store.rateLimiter({ name: loginName, points: 1, durationSeconds: 60 });
        await expect(again.consume("alice")).rejects.toBeInstanceOf(RateLimiterRes);
        expect(() => store.rateLimiter({ name: loginName, points: 2, durationSeconds: 60 })).toThrow(
          /already exists/,
        );
      });

      test("with blockSeconds an exhausted key stays rejected for the block, not just the window", async () => {
        const { store, key } = await setup();
        const plain = store.rateLimiter({ name: key("plain"), points: 2, durationSeconds: 5 });
        const blocking = store.rateLimiter({
          name: key("blocking"),
          points: 2,
          durationSeconds: 5,
          blockSeconds: 60,
        });
        const exhaust = async (limiter: typeof plain) => {
          await limiter.consume("alice");
          await limiter.consume("alice");
          return (await limiter.consume("alice").catch((error: unknown) => error)) as RateLimiterRes;
        };

        const windowEnd = await exhaust(plain);
        const blocked = await exhaust(blocking);

        expect(windowEnd).toBeInstanceOf(RateLimiterRes);
        expect(windowEnd.remainingPoints).toBe(0);
        expect(windowEnd.msBeforeNext).toBeLessThanOrEqual(5000);
        expect(blocked).toBeInstanceOf(RateLimiterRes);
        expect(blocked.remainingPoints).toBe(0);
        expect(blocked.msBeforeNext).toBeGreaterThan(5000);
        expect(blocked.msBeforeNext).toBeLessThanOrEqual(60_000);
        await expect(blocking.consume("alice")).rejects.toBeInstanceOf(RateLimiterRes);
      });
    });
  });
}
