"use strict";
// Container health probe, copied into the image as /app/healthcheck.cjs (slim images have no curl).
//   node healthcheck.cjs <url>   exits 0 when <url> answers 2xx within 4 s, 1 otherwise
//   node healthcheck.cjs         probes /health of the service PID 1 serves (`serve <name>` on its command
//                                line), so one Dockerfile HEALTHCHECK fits all five services; a container
//                                that serves nothing (`migrate`, `keys`) is healthy by definition.

function ownHealthUrl() {
  const args = require("node:fs").readFileSync("/proc/1/cmdline", "utf8").split("\0");
  if (!args.includes("serve")) return undefined;
  const service = args[args.indexOf("serve") + 1];
  const { DEFAULT_PORTS } = require("./dist/platform/config.js");
  if (!Object.hasOwn(DEFAULT_PORTS, service)) return undefined;
  const port = process.env[`${service.toUpperCase()}_PORT`] || DEFAULT_PORTS[service];
  return `http://127.0.0.1:${port}/health`;
}

const url = process.argv[2] ?? ownHealthUrl();
if (url === undefined) process.exit(0);
fetch(url, { signal: AbortSignal.timeout(4000) }).then(
  (response) => process.exit(response.ok ? 0 : 1),
  () => process.exit(1),
);
