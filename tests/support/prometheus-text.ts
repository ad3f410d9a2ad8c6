/**
 * A strict parser of the Prometheus text exposition format (version 0.0.4), for tests that
 * read GET /metrics: it throws on the first line that is not a HELP, TYPE, comment or sample
 * line of the grammar, on a sample whose family has no HELP and TYPE before it, on a family
 * whose samples are not together, on a duplicate series, and on a histogram whose buckets are
 * not cumulative or do not end with +Inf = _count.
 * https://prometheus.io/docs/instrumenting/exposition_formats/#text-based-format
 */

export type MetricType = "counter" | "gauge" | "histogram" | "summary" | "untyped";

export interface Sample {
  /** The sample's own name (a histogram's `x_bucket`, `x_sum`, `x_count`). */
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Family {
  name: string;
  type: MetricType;
  help: string;
  samples: Sample[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set<string>(["counter", "gauge", "histogram", "summary", "untyped"]);
/** A sample value: a Go float as Prometheus writes it. */
const VALUE = /^(?:[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|[+-]?Inf|NaN)$/;

/** The families of `text`, by name, in the order they appear. */
export function parsePrometheusText(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  const declared = new Map<string, { help?: string; type?: MetricType }>();
  const series = new Set<string>();
  let current: string | undefined;
  const done = new Set<string>();
  const lines = text.split("\n");
  if (lines.at(-1) === "") lines.pop(); // the last line ends with \n
  lines.forEach((line, index) => {
    const fail = (why: string): never => {
      throw new Error(`line ${index + 1}: ${why}: ${JSON.stringify(line)}`);
    };
    if (line === "") return;
    if (line.startsWith("#")) {
      const match = /^#\s+(HELP|TYPE)\s+(\S+)(?:\s(.*))?$/.exec(line);
      if (!match) return; // a comment
      const [, keyword, name, rest = ""] = match;
      if (!METRIC_NAME.test(name)) fail("bad metric name");
      const entry = declared.get(name) ?? {};
      if (families.has(name) && families.get(name)!.samples.length > 0) fail(`${keyword} after the family's samples`);
      if (keyword === "HELP") {
        if (entry.help !== undefined) fail("second HELP");
        entry.help = unescapeHelp(rest, fail);
      } else {
        if (entry.type !== undefined) fail("second TYPE");
        if (!TYPES.has(rest.trim())) fail("unknown TYPE");
        entry.type = rest.trim() as MetricType;
      }
      declared.set(name, entry);
      return;
    }
    const sample = parseSample(line, fail);
    const family = familyOf(sample.name, declared);
    if (!family) fail("a sample without HELP and TYPE");
    const { help, type } = declared.get(family!)!;
    if (help === undefined || type === undefined) fail("a sample without HELP and TYPE");
    if (family !== current) {
      if (done.has(family!)) fail("the family's samples are not together");
      if (current) done.add(current);
      current = family;
    }
    const key = `${sample.name}${JSON.stringify(Object.entries(sample.labels).sort())}`;
    if (series.has(key)) fail("duplicate series");
    series.add(key);
    let entry = families.get(family!);
    if (!entry) families.set(family!, (entry = { name: family!, type: type!, help: help!, samples: [] }));
    entry.samples.push(sample);
  });
  for (const family of families.values()) if (family.type === "histogram") checkHistogram(family);
  // Families declared without samples (a labelled counter nothing has counted yet) are there, empty.
  for (const [name, { help, type }] of declared) {
    if (families.has(name) || help === undefined || type === undefined) continue;
    families.set(name, { name, type, help, samples: [] });
  }
  return families;
}

/** The family a sample belongs to: its name, or its name without the suffix its family's type allows. */
function familyOf(name: string, declared: Map<string, { type?: MetricType }>): string | undefined {
  const own = declared.get(name)?.type;
  if (own) return own === "histogram" ? undefined : name; // a histogram has only suffixed samples
  for (const [suffix, types] of [
    ["_bucket", ["histogram"]],
    ["_sum", ["histogram", "summary"]],
    ["_count", ["histogram", "summary"]],
  ] as const) {
    if (!name.endsWith(suffix)) continue;
    const base = name.slice(0, -suffix.length);
    const type = declared.get(base)?.type;
    if (type && (types as readonly string[]).includes(type)) return base;
  }
  return undefined;
}

function parseSample(line: string, fail: (why: string) => never): Sample {
  const nameMatch = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line);
  if (!nameMatch) fail("not a sample line");
  const name = nameMatch![0];
  let rest = line.slice(name.length);
  const labels: Record<string, string> = {};
  if (rest.startsWith("{")) {
    rest = rest.slice(1);
    while (!rest.startsWith("}")) {
      const label = /^([a-zA-Z_][a-zA-Z0-9_]*)="/.exec(rest);
      if (!label || !LABEL_NAME.test(label[1])) fail("bad label");
      rest = rest.slice(label![0].length);
      let value = "";
      for (;;) {
        if (rest === "") fail("unterminated label value");
        const char = rest[0];
        if (char === '"') break;
        if (char === "\\") {
          const next = rest[1];
          if (next === "\\" || next === '"') value += next;
          else if (next === "n") value += "\n";
          else fail("bad escape in a label value");
          rest = rest.slice(2);
        } else {
          value += char;
          rest = rest.slice(1);
        }
      }
      rest = rest.slice(1);
      if (label![1] in labels) fail("a label given twice");
      labels[label![1]] = value;
      if (rest.startsWith(",")) rest = rest.slice(1);
      else if (!rest.startsWith("}")) fail("expected , or } after a label");
    }
    rest = rest.slice(1);
  }
  const parts = /^ (\S+)(?: (-?\d+))?$/.exec(rest);
  if (!parts || !VALUE.test(parts[1])) fail("bad value");
  return { name, labels, value: Number(parts![1].replace(/^\+?Inf$/, "Infinity").replace(/^-Inf$/, "-Infinity")) };
}

/** A HELP docstring: `\\` and `\n` are its only escapes. */
function unescapeHelp(text: string, fail: (why: string) => never): string {
  return text.replace(/\\(.?)/g, (_all, next: string) => {
    if (next === "\\") return "\\";
    if (next === "n") return "\n";
    return fail("bad escape in HELP");
  });
}

/** Per label set (le aside): buckets cumulative, the last one +Inf, equal to _count. */
function checkHistogram(family: Family): void {
  const groups = new Map<string, { buckets: Array<[number, number]>; count?: number }>();
  for (const sample of family.samples) {
    const { le, ...rest } = sample.labels;
    const key = JSON.stringify(Object.entries(rest).sort());
    const group = groups.get(key) ?? { buckets: [] };
    groups.set(key, group);
    if (sample.name.endsWith("_bucket")) {
      if (le === undefined) throw new Error(`${sample.name} without le`);
      group.buckets.push([le === "+Inf" ? Infinity : Number(le), sample.value]);
    } else if (sample.name.endsWith("_count")) group.count = sample.value;
  }
  for (const [key, { buckets, count }] of groups) {
    const where = `${family.name}${key}`;
    if (buckets.length === 0 || buckets.at(-1)![0] !== Infinity) throw new Error(`${where}: no +Inf bucket last`);
    for (let i = 1; i < buckets.length; i++) {
      if (buckets[i][0] <= buckets[i - 1][0] || buckets[i][1] < buckets[i - 1][1]) throw new Error(`${where}: buckets not cumulative`);
    }
    if (count !== buckets.at(-1)![1]) throw new Error(`${where}: _count ${count} is not the +Inf bucket ${buckets.at(-1)![1]}`);
  }
}

/**
 * The sum of the samples named `name` (a family's or a histogram's `_count` …) whose labels
 * include `labels`; 0 when there is none.
 */
export function sampleValue(families: Map<string, Family>, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const family of families.values()) {
    for (const sample of family.samples) {
      if (sample.name !== name) continue;
      if (Object.entries(labels).every(([k, v]) => sample.labels[k] === v)) sum += sample.value;
    }
  }
  return sum;
}
