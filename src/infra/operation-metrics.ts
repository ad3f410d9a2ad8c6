import type { Histogram } from "prom-client";

/** The kind of a GraphQL operation; "unknown" when it was refused before its operation was known (parse, validation). */
export type OperationType = "query" | "mutation" | "subscription" | "unknown";
/** How an operation ended: "error" is the client's or a domain refusal, "server_error" a masked or unavailable answer. */
export type OperationOutcome = "ok" | "error" | "server_error";
export type Transport = "http" | "ws";

/**
 * Distinct operation names one instance labels; any name after them is "other". The label
 * multiplies a histogram's series (types × outcomes × transports × buckets), so it is kept
 * well below what a scraper can hold, and above the few dozen operations the apps use.
 */
export const MAX_OPERATION_NAMES = 100;
const MAX_NAME_LENGTH = 64;
/** A GraphQL Name: what a parsed operation's name always is (a client's claimed operationName need not be). */
const GRAPHQL_NAME = /^[_A-Za-z][_0-9A-Za-z]*$/;

/**
 * Whether a name could carry an identifier (a user's, a session's): a run of seven or more
 * digits, twelve or more hex digits with a digit among them (a hash), or a UUID spelt with
 * underscores. Labels live as long as the series: an id in one would make a series per user
 * and keep the id in the monitoring system.
 */
export function looksLikeId(name: string): boolean {
  if (/\d{7,}/.test(name) || /[0-9a-f]{8}_[0-9a-f]{4}_[0-9a-f]{4}_[0-9a-f]{4}_[0-9a-f]{12}/i.test(name)) return true;
  for (const run of name.match(/[0-9a-f]{12,}/gi) ?? []) if (/\d/.test(run)) return true;
  return false;
}

/**
 * The `operation` label of an operation name, bounded: "anonymous" without a name; the name
 * itself for the first MAX_OPERATION_NAMES valid names seen (a GraphQL Name of at most 64
 * characters that does not look like an id); "other" for everything else. First come, first
 * labelled: names are the clients' choice, and a flood of made-up ones fills the set at worst
 * (the real ones then count as "other"), never the scraper.
 */
export class OperationNames {
  private readonly known = new Set<string>();

  constructor(private readonly max = MAX_OPERATION_NAMES) {}

  label(name: string | null | undefined): string {
    if (!name) return "anonymous";
    if (this.known.has(name)) return name;
    if (this.known.size >= this.max || name.length > MAX_NAME_LENGTH || !GRAPHQL_NAME.test(name) || looksLikeId(name)) return "other";
    this.known.add(name);
    return name;
  }
}

const TYPES: Record<OperationType, number> = { query: 0, mutation: 1, subscription: 2, unknown: 3 };
const OUTCOMES: Record<OperationOutcome, number> = { ok: 0, error: 1, server_error: 2 };
const TRANSPORTS: Record<Transport, number> = { http: 0, ws: 1 };

/**
 * graphql_operation_duration_seconds, observed without building a label set per operation:
 * each (name, type, outcome, transport) child is bound once, on its first observation
 * (prom-client's labels() hashes its arguments on every call).
 */
export class OperationDurations {
  private readonly names = new OperationNames();
  /** Per label, its children by transport, type and outcome. */
  private readonly children = new Map<string, Array<Histogram.Internal<string> | undefined>>();

  constructor(private readonly histogram: Histogram<"operation" | "type" | "outcome" | "transport">) {}

  observe(transport: Transport, type: OperationType, name: string | null | undefined, outcome: OperationOutcome, seconds: number): void {
    const label = this.names.label(name);
    let row = this.children.get(label);
    if (!row) this.children.set(label, (row = []));
    const index = TRANSPORTS[transport] * 12 + TYPES[type] * 3 + OUTCOMES[outcome];
    (row[index] ??= this.histogram.labels(label, type, outcome, transport)).observe(seconds);
  }
}
