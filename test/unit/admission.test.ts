import { setTimeout as sleep } from "node:timers/promises";

import { AdmissionQueue } from "../../platform/requests/admission";
import { Deadline } from "../../platform/requests/deadline";

// Expensive work (password hashing) under a burst: bounded concurrency, and what cannot start
// before its caller gives up is refused at once with SERVICE_UNAVAILABLE instead of running late.

const work = (ms: number, running: { now: number; most: number }) => async () => {
  running.now++;
  running.most = Math.max(running.most, running.now);
  await sleep(ms);
  running.now--;
  return "done";
};

const codeOf = (error: unknown) => (error as { extensions?: { code?: string } }).extensions?.code;

describe("AdmissionQueue", () => {
  it("runs at most `concurrency` tasks at once and queues the rest in order", async () => {
    const queue = new AdmissionQueue({ concurrency: 2, initialTaskMs: 20 });
    const running = { now: 0, most: 0 };
    const results = await Promise.all(
      Array.from({ length: 6 }, () => queue.run(work(20, running), Deadline.after(5_000))),
    );
    expect(results).toEqual(Array(6).fill("done"));
    expect(running.most).toBe(2);
    expect(queue.shed).toBe(0);
  });

  it("refuses at once, with a retry hint, work that could not start before its deadline", async () => {
    const queue = new AdmissionQueue({ concurrency: 1, initialTaskMs: 100 });
    const running = { now: 0, most: 0 };
    const first = queue.run(work(100, running), Deadline.after(5_000));
    const started = Date.now();
    // One task of ~100 ms ahead, and only 50 ms left: it cannot start in time.
    const refused = await queue.run(work(100, running), Deadline.after(50)).catch((error: unknown) => error);
    expect(Date.now() - started).toBeLessThan(30);
    expect(codeOf(refused)).toBe("SERVICE_UNAVAILABLE");
    expect((refused as { extensions: { retryAfter: number } }).extensions.retryAfter).toBeGreaterThan(0);
    await first;
    expect(queue.shed).toBe(1);
  });

  it("drops a waiting task when its caller goes away, and never runs it", async () => {
    const queue = new AdmissionQueue({ concurrency: 1, initialTaskMs: 10 });
    const running = { now: 0, most: 0 };
    const first = queue.run(work(150, running), Deadline.after(5_000));
    const deadline = Deadline.after(5_000);
    let ran = false;
    const waiting = queue.run(async () => (ran = true), deadline).catch((error: unknown) => error);
    deadline.abandon();
    expect(codeOf(await waiting)).toBe("SERVICE_UNAVAILABLE");
    await first;
    expect(ran).toBe(false);
  });

  it("bounds the queue: past it new work is refused whatever its deadline", async () => {
    const queue = new AdmissionQueue({ concurrency: 1, maxQueued: 2, initialTaskMs: 1 });
    const running = { now: 0, most: 0 };
    const accepted = Array.from({ length: 3 }, () => queue.run(work(30, running), Deadline.after(60_000)));
    const refused = await queue
      .run(work(30, running), Deadline.after(60_000))
      .catch((error: unknown) => error);
    expect(codeOf(refused)).toBe("SERVICE_UNAVAILABLE");
    await expect(Promise.all(accepted)).resolves.toEqual(["done", "done", "done"]);
  });
});
