// The load of test/support/flood.ts, on a worker thread: `concurrency` keep-alive connections,
// each sending the same request again as soon as the previous answer has arrived, until stopped
// or `seconds` have passed. Raw HTTP/1.1 over node:net: a load generator that costs the machine
// far less than the server it loads, so that on a small machine the test measures the server.
const { Buffer } = require("node:buffer");
const net = require("node:net");
const { parentPort, workerData } = require("node:worker_threads");

const { host, port, path, headers, body, concurrency, seconds } = workerData;
const request = Buffer.from(
  [
    `POST ${path} HTTP/1.1`,
    `Host: ${host}:${port}`,
    ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
    `Content-Length: ${Buffer.byteLength(body)}`,
    "",
    body,
  ].join("\r\n"),
);
const deadline = Date.now() + seconds * 1000;
const outcome = {};
let stopped = false;
let answered = 0;
let open = concurrency;

const count = (key) => {
  outcome[key] = (outcome[key] ?? 0) + 1;
  if (++answered === concurrency) parentPort.postMessage({ started: true });
};

/** Splits the byte stream into answers: status line, headers, Content-Length or chunked body. */
function connection() {
  const socket = net.connect(port, host);
  socket.setNoDelay(true);
  let buffered = Buffer.alloc(0);
  const next = () => {
    if (stopped || Date.now() >= deadline) return socket.end();
    socket.write(request);
  };
  socket.on("connect", next);
  socket.on("data", (chunk) => {
    buffered = buffered.length ? Buffer.concat([buffered, chunk]) : chunk;
    for (;;) {
      const headEnd = buffered.indexOf("\r\n\r\n");
      if (headEnd < 0) return;
      const head = buffered.subarray(0, headEnd).toString("latin1");
      const status = head.slice(9, 12);
      const length = /\r\ncontent-length:\s*(\d+)/i.exec(head);
      let end;
      if (length) end = headEnd + 4 + Number(length[1]);
      else if (/\r\ntransfer-encoding:\s*chunked/i.test(head)) {
        const last = buffered.indexOf("\r\n0\r\n\r\n", headEnd);
        end = last < 0 ? Infinity : last + 7;
      } else end = headEnd + 4;
      if (buffered.length < end) return;
      buffered = buffered.subarray(end);
      count(status);
      next();
    }
  });
  socket.on("error", () => count("failed"));
  socket.on("close", () => {
    if (!stopped && Date.now() < deadline) return connection(); // the server closed it: open another
    if (--open === 0) parentPort.postMessage({ outcome });
  });
}

parentPort.on("message", () => {
  stopped = true;
});
for (let i = 0; i < concurrency; i++) connection();
