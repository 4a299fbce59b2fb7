import path from "node:path";
import { Worker } from "node:worker_threads";

/** How many answers a flood got, by HTTP status ("failed": a connection error). */
export type FloodOutcome = Record<string, number>;

export interface Flood {
  /** Every connection has had one answer. */
  started: Promise<void>;
  /** Stops sending; the outcome once every connection has closed. */
  stop(): Promise<FloodOutcome>;
}

/**
 * One client keeping `concurrency` POSTs of `body` in flight against `url` (loopback), from a
 * worker thread with its own event loop, as a separate client would; bounded by `seconds` even if
 * never stopped. See flood-worker.cjs.
 */
export function startFlood(
  url: string,
  options: { body: string; headers?: Record<string, string>; concurrency: number; seconds: number },
): Flood {
  const target = new URL(url);
  const worker = new Worker(path.join(__dirname, "flood-worker.cjs"), {
    workerData: {
      host: target.hostname,
      port: Number(target.port),
      path: target.pathname,
      headers: { "Content-Type": "application/json", ...options.headers },
      body: options.body,
      concurrency: options.concurrency,
      seconds: options.seconds,
    },
  });
  let started!: () => void;
  const startedPromise = new Promise<void>((resolve) => (started = resolve));
  const done = new Promise<FloodOutcome>((resolve, reject) => {
    worker.on("message", (message: { started?: true; outcome?: FloodOutcome }) => {
      if (message.started) started();
      if (message.outcome) resolve(message.outcome);
    });
    worker.on("error", reject);
    worker.on("exit", () => reject(new Error("the flood worker exited without an outcome")));
  });
  return {
    started: Promise.race([startedPromise, done.then(() => undefined)]),
    stop: async () => {
      worker.postMessage("stop");
      const stuck = new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error("the flood did not stop within 5 s")), 5_000).unref(),
      );
      try {
        return await Promise.race([done, stuck]);
      } finally {
        await worker.terminate();
      }
    },
  };
}
