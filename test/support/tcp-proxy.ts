import { createConnection, createServer, type Socket } from "node:net";

import { REAL_SERVICES } from "./services";

export interface TcpProxy {
  /** The local port the proxy listens on (127.0.0.1). */
  port: number;
  /** Simulates an outage: destroys every open connection and drops every new one as it arrives. */
  cut(): void;
  /**
   * Simulates a service that stops answering: connections stay open (and new ones are accepted) but
   * nothing is forwarded either way until restore(), so clients wait rather than fail.
   */
  stall(): void;
  /** Simulates a slow network or server: every chunk, either way, arrives `ms` later (0: no delay). */
  slow(ms: number): void;
  /** Ends the outage, the stall or the slowness: connections are forwarded again at once. */
  restore(): void;
  close(): Promise<void>;
}

/**
 * A TCP proxy in front of a real service, to take it away from a client and give it back without
 * touching the service itself (other test files share it). Listens on a free port.
 */
export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const open = new Set<Socket>();
  let cut = false;
  let stalled = false;

  const track = (socket: Socket) => {
    // Small request/response protocols (Redis, PostgreSQL) would otherwise wait on Nagle's algorithm.
    socket.setNoDelay(true);
    open.add(socket);
    socket.once("close", () => open.delete(socket));
    // A reset on either side is expected here (that is what the proxy is for): never crash on it.
    socket.on("error", () => socket.destroy());
  };

  // Each connection's two sockets. Bytes are forwarded by hand (not pipe(), which resumes a paused
  // socket): a stall pauses both, and a latency delays each chunk, in order, per direction.
  const pairs = new Set<{ client: Socket; upstream: Socket }>();
  let latencyMs = 0;
  const forward = (from: Socket, to: Socket) => {
    let releaseAt = 0;
    from.on("data", (chunk: Buffer) => {
      const at = Math.max(Date.now() + latencyMs, releaseAt);
      releaseAt = at;
      const wait = at - Date.now();
      if (wait <= 0) to.write(chunk);
      else setTimeout(() => to.destroyed || to.write(chunk), wait);
    });
    from.once("end", () => setTimeout(() => to.end(), Math.max(0, releaseAt - Date.now())));
  };
  const link = ({ client, upstream }: { client: Socket; upstream: Socket }) => {
    client.resume();
    upstream.resume();
  };
  const hold = ({ client, upstream }: { client: Socket; upstream: Socket }) => {
    client.pause();
    upstream.pause();
  };

  const server = createServer((client) => {
    if (cut) {
      // Accepted by the kernel before we could refuse it: close it at once, as a dead server would.
      client.destroy();
      return;
    }
    const upstream = createConnection({ host: target.host, port: target.port });
    const pair = { client, upstream };
    pairs.add(pair);
    track(client);
    track(upstream);
    client.once("close", () => {
      pairs.delete(pair);
      upstream.destroy();
    });
    upstream.once("close", () => client.destroy());
    forward(client, upstream);
    forward(upstream, client);
    if (stalled) hold(pair);
    else link(pair);
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("the proxy has no TCP address");

  const destroyAll = () => {
    for (const socket of open) socket.destroy();
    open.clear();
  };

  return {
    port: address.port,
    cut() {
      cut = true;
      destroyAll();
    },
    stall() {
      if (stalled) return;
      stalled = true;
      for (const pair of pairs) hold(pair);
    },
    slow(ms: number) {
      latencyMs = ms;
    },
    restore() {
      cut = false;
      latencyMs = 0;
      if (!stalled) return;
      stalled = false;
      for (const pair of pairs) link(pair);
    },
    close() {
      cut = true;
      destroyAll();
      return new Promise((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
    },
  };
}

/** A proxy in front of this test run's real Redis, with the URL that goes through it. */
export type RedisProxy = TcpProxy & { url: string };

export async function startRedisProxy(): Promise<RedisProxy> {
  const redis = new URL(REAL_SERVICES.redis.url);
  const proxy = await startTcpProxy({ host: redis.hostname, port: Number(redis.port || 6379) });
  return Object.assign(proxy, { url: `redis://127.0.0.1:${proxy.port}` });
}
