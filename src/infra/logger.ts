import { isatty } from "node:tty";
import { trace } from "@opentelemetry/api";
import pino from "pino";
import pretty from "pino-pretty";

export type Logger = pino.Logger;

/** How lines are written: JSON for log shippers, or one readable line each for a person at a terminal. */
export type LogFormat = "json" | "pretty";

/**
 * Keys whose values never reach a log, at any of the first three levels of a logged object
 * (pino's paths take one `*` per level): passwords, tokens, secrets, cookies and the
 * Authorization header, wherever a request, a config or an input carries them.
 */
const SECRET_KEYS = [
  "password",
  "currentPassword",
  "newPassword",
  "passwordHash",
  "token",
  "accessToken",
  "refreshToken",
  "sessionToken",
  "videoToken",
  "secret",
  "jwtSecret",
  "metricsToken",
  "authorization",
  "cookie",
  '"set-cookie"',
];
export const REDACTED_PATHS = ["", "*.", "*.*."].flatMap((prefix) => SECRET_KEYS.map((key) => prefix + key));

/**
 * The process's logger (O1): level LOG_LEVEL, secrets redacted wherever they appear in a
 * logged object, written to stdout (`fd` 2 for a command whose stdout is its answer).
 * `format` (LOG_FORMAT) defaults to pretty when that output is a terminal (`npm start` in a
 * shell) and to JSON otherwise (a container, a file, a pipe to a log shipper). A test may
 * give its own `destination` to read the lines. With `traceIds` (tracing on), a line written
 * inside a span carries its `traceId` and `spanId`, so a trace and its log lines find each other.
 */
export function createLogger(
  level: string,
  options: { format?: LogFormat; fd?: 1 | 2; destination?: pino.DestinationStream; traceIds?: boolean } = {},
): Logger {
  const fd = options.fd ?? 1;
  const terminal = !options.destination && isatty(fd);
  const format = options.format ?? (terminal ? "pretty" : "json");
  const destination =
    format === "pretty"
      ? pretty({
          destination: options.destination ?? fd,
          sync: true, // each line is out before the next statement runs, and none is lost at exit
          colorize: terminal,
          singleLine: true,
          translateTime: "SYS:HH:MM:ss.l",
          ignore: "pid,hostname,service",
        })
      : (options.destination ?? pino.destination(fd));
  return pino(
    {
      level,
      base: { service: "classroom-api" },
      redact: { paths: REDACTED_PATHS, censor: "[redacted]" },
      ...(options.traceIds ? { mixin: activeSpanIds } : {}),
    },
    destination,
  );
}

/** The active span's ids for a log line, or nothing outside a span. */
function activeSpanIds(): { traceId?: string; spanId?: string } {
  const span = trace.getActiveSpan();
  if (!span) return {};
  const { traceId, spanId } = span.spanContext();
  return { traceId, spanId };
}
