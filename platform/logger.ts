import pino, { type Logger } from "pino";

import { serializeError, withoutSecretFields } from "./log-redaction";

export type { Logger };

/**
 * JSON logs that hold no secret (docs/decisions/005-no-secrets-in-logs.md): fields named like one
 * are censored on every line, and errors (`err`, `error`, `reason`) are written by a serializer
 * that keeps their type, code and stack but takes the values out of their messages and leaves out
 * the fields that carry a caller's data (a driver's SQL parameters, `detail`, an envelope).
 */
export function createLogger(
  service: string,
  level: string = process.env.LOG_LEVEL ?? "info",
  destination?: pino.DestinationStream,
): Logger {
  const options: pino.LoggerOptions = {
    level,
    base: { service },
    serializers: { err: serializeError, error: serializeError, reason: serializeError },
    formatters: { log: withoutSecretFields },
  };
  return pino(options, destination ?? standardOutput());
}

let stdout: (pino.DestinationStream & { flushSync?: () => void }) | undefined;

/**
 * One asynchronous stdout stream for every logger of the process: while a write is in flight the
 * next lines gather behind it and leave together (under load one write carries many lines, idle
 * each line leaves at once). A synchronous write per line cost about 2% of the router's CPU.
 * flushLogs() empties it before the process exits.
 */
function standardOutput(): pino.DestinationStream {
  stdout ??= pino.destination({ dest: 1, sync: false });
  return stdout;
}

/** Writes out what the asynchronous stdout stream still holds (call before process.exit). */
export function flushLogs(): void {
  try {
    stdout?.flushSync?.();
  } catch {
    // Nothing to flush, or stdout is gone: exiting anyway.
  }
}
