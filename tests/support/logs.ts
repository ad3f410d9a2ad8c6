import { createLogger, type Logger } from "../../src/infra/logger";

/** A line the logger wrote, parsed: pino's fields (level, msg, time…) and what was logged. */
export type LogLine = Record<string, any>;

/** The server's own logger (JSON, redaction and all) writing into `lines` instead of stdout. */
export function capturedLogger(level = "info"): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const logger = createLogger(level, { format: "json", destination: { write: (line: string) => void lines.push(JSON.parse(line)) } });
  return { logger, lines };
}
