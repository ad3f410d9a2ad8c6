import { types } from "pg";

/**
 * PostgreSQL's text form of a timestamptz (`2026-12-02 15:35:12.123456+05:30`) parsed
 * without regular expressions: a session page reads about a hundred of them (participants,
 * users, events), and pg's default parser (postgres-date, three regular expressions each)
 * was a twentieth of the request (issue 12). The same Date as the default parser: the fraction
 * truncated to milliseconds, the offset applied. Anything else (BC, infinity, a year below
 * 1000 or above 9999, another layout) goes to the default parser.
 */
export function parseTimestamptz(text: string): Date | number | null {
  const n = text.length;
  // yyyy-mm-dd hh:mm:ss, then an optional .fraction, then ±hh[:mm[:ss]]
  if (
    n < 22 ||
    text.charCodeAt(4) !== 45 ||
    text.charCodeAt(7) !== 45 ||
    text.charCodeAt(10) !== 32 ||
    text.charCodeAt(13) !== 58 ||
    text.charCodeAt(16) !== 58
  ) {
    return fallback(text);
  }
  const year = digits(text, 0, 4);
  const month = digits(text, 5, 2);
  const day = digits(text, 8, 2);
  const hour = digits(text, 11, 2);
  const minute = digits(text, 14, 2);
  const second = digits(text, 17, 2);
  if (year < 1000 || month < 0 || day < 0 || hour < 0 || minute < 0 || second < 0) return fallback(text);
  let at = 19;
  let ms = 0;
  if (text.charCodeAt(at) === 46) {
    at += 1;
    let scale = 100;
    while (at < n && isDigit(text.charCodeAt(at))) {
      if (scale >= 1) ms += (text.charCodeAt(at) - 48) * scale;
      scale /= 10;
      at += 1;
    }
  }
  const sign = text.charCodeAt(at);
  if (sign !== 43 && sign !== 45) return fallback(text);
  const offsetHours = digits(text, at + 1, 2);
  at += 3;
  let offsetMinutes = 0;
  let offsetSeconds = 0;
  if (at < n && text.charCodeAt(at) === 58) {
    offsetMinutes = digits(text, at + 1, 2);
    at += 3;
    if (at < n && text.charCodeAt(at) === 58) {
      offsetSeconds = digits(text, at + 1, 2);
      at += 3;
    }
  }
  if (at !== n || offsetHours < 0 || offsetMinutes < 0 || offsetSeconds < 0) return fallback(text);
  const offsetMs = (offsetHours * 3600 + offsetMinutes * 60 + offsetSeconds) * 1000 * (sign === 45 ? -1 : 1);
  return new Date(Date.UTC(year, month - 1, day, hour, minute, second, ms) - offsetMs);
}

const defaultParser = types.getTypeParser(types.builtins.TIMESTAMPTZ) as (text: string) => Date | number | null;

function fallback(text: string): Date | number | null {
  return defaultParser(text);
}

function isDigit(code: number): boolean {
  return code >= 48 && code <= 57;
}

/** The decimal number of `count` digits at `from`, or -1 when any is not a digit. */
function digits(text: string, from: number, count: number): number {
  let value = 0;
  for (let i = from; i < from + count; i++) {
    const code = text.charCodeAt(i);
    if (!isDigit(code)) return -1;
    value = value * 10 + (code - 48);
  }
  return value;
}

/** Makes every pg connection of the process parse timestamptz with parseTimestamptz. */
export function useFastTimestamps(): void {
  types.setTypeParser(types.builtins.TIMESTAMPTZ, parseTimestamptz);
}
