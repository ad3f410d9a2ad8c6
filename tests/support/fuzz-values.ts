import fc from "fast-check";

/**
 * The values the fuzzer sends, and how they become the JSON text of a request's
 * `variables`. Generated values are plain JSON-like data plus three placeholders:
 * - {@link Raw}: JSON text sent as is (numbers JSON.stringify cannot write, like 1e400, and
 *   nesting thousands of levels deep, which neither fast-check nor JSON.stringify should
 *   recurse into);
 * - {@link Ref}: a real value of the fuzzed server's world (a session id, an access code, a
 *   cursor the server handed out), named by kind and index and resolved when sent, so a case
 *   replayed from its seed uses the same role of id on a freshly seeded server;
 * - {@link CursorOf}: a forged pagination cursor, base64url of the JSON text of its position.
 * Objects are built with Object.fromEntries, so `__proto__` is an own key sent as data.
 */
export class Raw {
  constructor(readonly text: string) {}
}

export type RefKind =
  "session" | "soloSession" | "user" | "classroom" | "booking" | "accessCode" | "email" | "password" | "cursor" | "boardVersion" | "snapshotVersion";

export class Ref {
  constructor(
    readonly kind: RefKind,
    readonly index: number,
  ) {}
}

export class CursorOf {
  constructor(readonly position: Wire) {}
}

/** A field or variable left out. */
export const OMIT: unique symbol = Symbol("omit");

export type Wire = null | boolean | number | string | Raw | Ref | CursorOf | Wire[] | { [key: string]: Wire | typeof OMIT };

/** Answers the real value a {@link Ref} stands for in the current world. */
export type Resolve = (ref: Ref) => unknown;

/** The JSON text of `value`, placeholders resolved; OMIT entries are left out. */
export function toJsonText(value: Wire | typeof OMIT, resolve: Resolve): string {
  if (value instanceof Raw) return value.text;
  if (value instanceof Ref) return JSON.stringify(resolve(value) ?? null);
  if (value instanceof CursorOf) return JSON.stringify(Buffer.from(toJsonText(value.position, resolve)).toString("base64url"));
  // Well-formed JSON.stringify escapes lone surrogates (\ud800), so they reach the server as sent.
  if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "null";
  if (Array.isArray(value)) return `[${value.map((v) => toJsonText(v, resolve)).join(",")}]`;
  const members = Object.keys(value)
    .filter((k) => value[k] !== OMIT)
    .map((k) => `${JSON.stringify(k)}:${toJsonText(value[k], resolve)}`);
  return `{${members.join(",")}}`;
}

/** Every {@link Ref} in `value` (not inside forged cursors). */
export function refsIn(value: Wire | typeof OMIT): Ref[] {
  if (value instanceof Ref) return [value];
  if (value === null || typeof value !== "object" || value instanceof Raw || value instanceof CursorOf) return [];
  return (Array.isArray(value) ? value : Object.values(value)).flatMap((v) => refsIn(v as Wire));
}

export const ref = (kind: RefKind) => fc.nat({ max: 15 }).map((i) => new Ref(kind, i));

// --- strings

/** Strings every layer should refuse or store as plain text: NUL, lone surrogates, prototype words, injection. */
export const WEIRD_STRINGS = [
  "",
  " ",
  "\u0000",
  "a\u0000b",
  "\ud800",
  "\udc00x",
  "x\ud83d",
  "__proto__",
  "constructor",
  "prototype",
  "' OR 1=1 --",
  "\\u0000",
  "%00%s%n",
  "null",
  "NaN",
  "-1",
  "😀",
  "\u202eevil",
  "\r\n",
  "<script>alert(1)</script>",
] as const;

/** A character unit that includes NUL and lone surrogates, which fast-check's units leave out. */
const hostileChar = fc.oneof(
  { weight: 8, arbitrary: fc.string({ unit: "binary", minLength: 1, maxLength: 1 }) },
  { weight: 1, arbitrary: fc.constantFrom("\u0000", "\ud800", "\udbff", "\udc00", "\udfff") },
);

export const hostileString: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.string({ maxLength: 24 }) },
  { weight: 3, arbitrary: fc.string({ unit: hostileChar, maxLength: 24 }) },
  { weight: 3, arbitrary: fc.constantFrom(...WEIRD_STRINGS) },
  { weight: 2, arbitrary: fc.tuple(fc.string({ maxLength: 6 }), fc.constantFrom(...WEIRD_STRINGS), fc.string({ maxLength: 6 })).map((p) => p.join("")) },
  // long, but mostly under the 1 MiB body limit
  {
    weight: 1,
    arbitrary: fc
      .tuple(
        fc.constantFrom("x", "é", "\u0000", "😀"),
        fc.oneof({ weight: 9, arbitrary: fc.integer({ min: 256, max: 20_000 }) }, { weight: 1, arbitrary: fc.constant(200_000) }),
      )
      .map(([c, n]) => c.repeat(n)),
  },
);

/** A short ordinary string, the kind a client sends. */
export const plainString = fc.string({ minLength: 1, maxLength: 16 });

// --- numbers

/**
 * JSON number texts that no JS number writes: past a double, -0, beyond 2^53; and NaN and
 * Infinity, which are not JSON at all (the whole body is then malformed: 400).
 */
const RAW_NUMBERS = [
  "1e400",
  "-1e400",
  "1e-400",
  "-0",
  "123456789012345678901234567890",
  "9007199254740993",
  "1E308",
  "0.1e1",
  "-0.0",
  "NaN",
  "Infinity",
  "-Infinity",
];

export const hostileNumber: fc.Arbitrary<Wire> = fc.oneof(
  { weight: 3, arbitrary: fc.integer() },
  { weight: 2, arbitrary: fc.double({ noNaN: true, noDefaultInfinity: true }) },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      0,
      -1,
      1,
      0.5,
      2 ** 31 - 1,
      2 ** 31,
      -(2 ** 31),
      -(2 ** 31) - 1,
      2 ** 32,
      2 ** 53 - 1,
      2 ** 53,
      2 ** 53 + 2,
      -(2 ** 53),
      -(2 ** 53) - 2,
      Number.MAX_VALUE,
      -Number.MAX_VALUE,
      Number.MIN_VALUE,
      1e21,
      8.64e15,
      8.64e15 + 1,
      253_402_300_800_000,
      -62_135_596_800_001,
    ),
  },
  { weight: 2, arbitrary: fc.constantFrom(...RAW_NUMBERS).map((t) => new Raw(t)) },
);

/** A value of the wrong JSON type for whatever the schema expects. */
export const wrongType: fc.Arbitrary<Wire> = fc.oneof(
  hostileNumber,
  hostileString,
  fc.boolean(),
  fc.constant([] as Wire[]),
  fc.constant({}),
  fc.constantFrom("{}", "[[[]]]", '{"__proto__":{"x":1}}', '{"constructor":{"prototype":{"x":1}}}').map((t) => new Raw(t)),
);

// --- JSON scalars

const jsonKey = fc.oneof(
  { weight: 4, arbitrary: fc.string({ maxLength: 8 }) },
  { weight: 2, arbitrary: fc.constantFrom("__proto__", "constructor", "prototype", "toString", "hasOwnProperty", "valueOf", "__defineGetter__") },
  { weight: 2, arbitrary: fc.constantFrom("id", "props", "x", "y", "type", "text", "layers", "objects", "version") },
  { weight: 1, arbitrary: fc.string({ unit: hostileChar, minLength: 1, maxLength: 4 }) },
);

const jsonLeaf: fc.Arbitrary<Wire> = fc.oneof(
  { weight: 3, arbitrary: hostileString },
  { weight: 3, arbitrary: hostileNumber },
  { weight: 1, arbitrary: fc.boolean() },
  { weight: 1, arbitrary: fc.constant(null) },
);

/** JSON text nested `depth` levels, arrays or objects, around `leaf`. */
export function nestedText(depth: number, kind: "array" | "object" | "mixed", leaf: string): string {
  let open = "";
  let close = "";
  for (let i = 0; i < depth; i++) {
    const asArray = kind === "array" || (kind === "mixed" && i % 2 === 1);
    open += asArray ? "[" : '{"a":';
    close = (asArray ? "]" : "}") + close;
  }
  return open + leaf + close;
}

/** JSON nested to around the limit (32) and far past it, hostile leaf at the bottom. */
export const deepJson: fc.Arbitrary<Wire> = fc
  .record({
    depth: fc.oneof(fc.constantFrom(30, 31, 32, 33, 34, 64, 200, 1000, 5000, 20_000), fc.integer({ min: 1, max: 3000 })),
    kind: fc.constantFrom("array" as const, "object" as const, "mixed" as const),
    leaf: jsonLeaf,
  })
  .map(
    ({ depth, kind, leaf }) =>
      new Raw(
        nestedText(
          depth,
          kind,
          toJsonText(leaf, () => null),
        ),
      ),
  );

const { tree: jsonTree } = fc.letrec<{ tree: Wire; array: Wire[]; object: Wire }>((tie) => ({
  tree: fc.oneof({ depthSize: "small", withCrossShrink: true }, jsonLeaf, tie("array"), tie("object")),
  array: fc.array(tie("tree"), { maxLength: 5 }),
  object: fc.array(fc.tuple(jsonKey, tie("tree")), { maxLength: 5 }).map((entries) => Object.fromEntries(entries)),
}));

/** Any JSON value: ordinary trees with hostile keys and leaves, and deep nesting at any depth of them. */
export const hostileJson: fc.Arbitrary<Wire> = fc.oneof(
  { weight: 6, arbitrary: jsonTree },
  { weight: 2, arbitrary: deepJson },
  { weight: 2, arbitrary: fc.tuple(jsonKey, deepJson).map(([k, deep]) => Object.fromEntries([[k, [deep]]])) },
  { weight: 1, arbitrary: fc.tuple(jsonTree, jsonKey, jsonLeaf).map(([tree, k, leaf]) => [tree, Object.fromEntries([[k, leaf]])]) },
);

// --- ids and cursors

export const FORGED_IDS = [
  "x",
  "",
  "0",
  "-1",
  "00000000-0000-0000-0000-000000000000",
  "00000000-0000-4000-8000-000000000000",
  "' OR 1=1 --",
  "\u0000",
  "\ud800",
  "ffffffff-ffff-ffff-ffff-ffffffffffff",
  "FFFFFFFF-FFFF-4FFF-BFFF-FFFFFFFFFFFF",
  "{00000000-0000-4000-8000-000000000000}",
];

export const forgedId: fc.Arbitrary<Wire> = fc.oneof(
  { weight: 4, arbitrary: fc.uuid() },
  { weight: 3, arbitrary: fc.constantFrom(...FORGED_IDS) },
  { weight: 2, arbitrary: hostileString },
  { weight: 1, arbitrary: fc.integer() }, // an ID variable takes an Int too
);

/** Forged `after` cursors: base64 garbage, positions of the wrong shape, huge or negative numbers, another session. */
export const forgedCursor: fc.Arbitrary<Wire> = fc.oneof(
  { weight: 3, arbitrary: ref("cursor") },
  {
    weight: 4,
    arbitrary: fc
      .array(
        fc.tuple(
          fc.constantFrom("at", "id", "s", "q", "seq", "v", "__proto__"),
          fc.oneof(hostileNumber, fc.uuid(), ref("session") as fc.Arbitrary<Wire>, hostileString, fc.constant(null)),
        ),
        { maxLength: 3 },
      )
      .map((entries) => new CursorOf(Object.fromEntries(entries))),
  },
  { weight: 1, arbitrary: fc.constantFrom("[]", "1", "null", '"x"', "{", "[1,2]", nestedText(5000, "array", "1")).map((t) => new CursorOf(new Raw(t))) },
  {
    weight: 2,
    arbitrary: fc.oneof(
      fc.base64String({ maxLength: 40 }),
      fc.uint8Array({ maxLength: 30 }).map((b) => Buffer.from(b).toString("base64url")),
      hostileString,
    ),
  },
);
