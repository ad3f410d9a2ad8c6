import pino from "pino";

export type Logger = pino.Logger;

/**
 * Structured JSON logs; secrets are redacted wherever they appear in a logged object.
 * Written to stdout unless `destination` says otherwise (a command whose stdout is its answer).
 */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: "classroom-api" },
      redact: {
        paths: ["password", "*.password", "passwordHash", "*.passwordHash", "authorization", "*.authorization", "req.headers.authorization"],
        censor: "[redacted]",
      },
    },
    destination,
  );
}
