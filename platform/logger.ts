import pino, { type Logger } from "pino";

export type { Logger };

/** JSON logs; secrets never reach them because the paths that could carry one are redacted. */
export function createLogger(
  service: string,
  level: string = process.env.LOG_LEVEL ?? "info",
  destination?: pino.DestinationStream,
): Logger {
  const options: pino.LoggerOptions = {
    level,
    base: { service },
    redact: {
      paths: [
        "password",
        "*.password",
        "*.*.password",
        "token",
        "*.token",
        "*.refreshToken",
        "*.accessToken",
        "headers.authorization",
        'headers["x-api-key"]',
        'headers["orion-identity"]',
      ],
      censor: "[redacted]",
    },
  };
  return destination ? pino(options, destination) : pino(options);
}
