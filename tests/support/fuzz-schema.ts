import fc from "fast-check";
import {
  getNamedType,
  getNullableType,
  isEnumType,
  isInputObjectType,
  isLeafType,
  isListType,
  isNonNullType,
  isObjectType,
  type GraphQLArgument,
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLObjectType,
  type GraphQLOutputType,
  type GraphQLSchema,
} from "graphql";
import {
  deepJson,
  forgedCursor,
  forgedId,
  hostileJson,
  hostileNumber,
  hostileString,
  OMIT,
  plainString,
  ref,
  type RefKind,
  type Wire,
  wrongType,
} from "./fuzz-values";

/**
 * What the fuzzer calls, read from the built schema: every Query and Mutation field, and
 * every field with arguments nested below a Query field (ClassroomSession.timeline,
 * Classroom.sessions, LessonReport.timelineBuckets …), reached by its shortest path, whose
 * fields' arguments all become variables. Subscriptions are not HTTP operations (the
 * graphql-ws tests cover them).
 */
export interface Target {
  /** e.g. "Mutation.applyBoardEvents" or "Query.session.timeline". */
  name: string;
  operation: "query" | "mutation";
  path: Array<GraphQLField<unknown, unknown>>;
  /** Variable name → the argument it fills, in path order. */
  variables: Array<{ name: string; step: number; arg: GraphQLArgument }>;
}

const MAX_NESTED_PATH = 3;

export function fuzzTargets(schema: GraphQLSchema): Target[] {
  const targets: Target[] = [];
  const make = (operation: Target["operation"], path: Target["path"]): Target => ({
    name: [operation === "query" ? "Query" : "Mutation", ...path.map((f) => f.name)].join("."),
    operation,
    path,
    variables: path.flatMap((field, step) => field.args.map((arg) => ({ name: `v${step}_${arg.name}`, step, arg }))),
  });
  for (const field of Object.values(schema.getMutationType()!.getFields())) targets.push(make("mutation", [field]));
  const queryFields = Object.values(schema.getQueryType()!.getFields());
  for (const field of queryFields) targets.push(make("query", [field]));
  // Breadth first, so every nested field with arguments is reached by a shortest path.
  const reached = new Set<string>();
  let frontier: Target["path"][] = queryFields.map((f) => [f]);
  for (let length = 2; length <= MAX_NESTED_PATH; length++) {
    const next: Target["path"][] = [];
    for (const path of frontier) {
      const type = getNamedType(path[path.length - 1].type);
      if (!isObjectType(type)) continue;
      for (const field of Object.values(type.getFields())) {
        const longer = [...path, field];
        next.push(longer);
        const key = `${type.name}.${field.name}`;
        if (field.args.length > 0 && !reached.has(key)) {
          reached.add(key);
          targets.push(make("query", longer));
        }
      }
    }
    frontier = next;
  }
  return targets;
}

/** A field's required arguments (the selection leaves such fields out: they are targets of their own). */
const needsArgs = (field: GraphQLField<unknown, unknown>) => field.args.some((a) => isNonNullType(a.type) && a.defaultValue === undefined);

/**
 * A selection of `type`: its leaves, and objects below it `levels` deep (a connection's
 * `edges { cursor node }` counting as one level), so results exercise the field resolvers
 * and a cursor of every list comes back to be reused.
 */
export function selectionOf(type: GraphQLOutputType, levels: number): string {
  const named = getNamedType(type);
  if (!isObjectType(named)) return "";
  const parts = ["__typename"];
  for (const field of Object.values((named as GraphQLObjectType).getFields())) {
    // Pages below the top are left out: each costs `first` (20) times its items (operation-limits.ts).
    if (needsArgs(field) || (levels < 2 && field.args.some((a) => a.name === "first"))) continue;
    const inner = getNamedType(field.type);
    if (isLeafType(inner)) parts.push(field.name);
    else if (field.name === "edges" && isObjectType(inner) && inner.getFields().node) {
      if (levels < 1) continue;
      parts.push(`edges { cursor node { ${selectionOf(inner.getFields().node.type, levels - 1)} } }`);
    } else if (levels > 0 && !(isListType(getNullableType(field.type)) && levels < 2)) {
      parts.push(`${field.name} { ${selectionOf(field.type, levels - 1)} }`);
    }
  }
  return parts.join(" ");
}

/** The operation text of `target`: one root field aliased `r`, its nested target aliased `t`. */
export function documentOf(target: Target): string {
  const defs = target.variables.map((v) => `$${v.name}: ${v.arg.type.toString()}`).join(", ");
  const call = (field: GraphQLField<unknown, unknown>, step: number) => {
    const args = target.variables.filter((v) => v.step === step).map((v) => `${v.arg.name}: $${v.name}`);
    return args.length ? `${field.name}(${args.join(", ")})` : field.name;
  };
  const last = target.path.length - 1;
  let body = `${call(target.path[last], last)}`;
  const leafSelection = selectionOf(target.path[last].type, isListType(getNullableType(target.path[last].type)) ? 1 : 2);
  if (leafSelection) body += ` { ${leafSelection} }`;
  if (last > 0) body = `t: ${body}`;
  for (let step = last - 1; step >= 0; step--) body = `${step === 0 ? "r: " : ""}${call(target.path[step], step)} { __typename ${body} }`;
  if (last === 0) body = `r: ${body}`;
  return `${target.operation} Fuzz${defs ? `(${defs})` : ""} { ${body} }`;
}

// ---------------------------------------------------------------------------------------
// Argument values

interface Context {
  /** The field the argument belongs to, e.g. "cancelBooking". */
  root: string;
  /** The argument or input field name being filled. */
  name: string;
  /**
   * false: a value a client could send (real ids, sane numbers, ordinary text), so the call
   * reaches the services; true: the same mixed with null where required, wrong types, unknown
   * and prototype keys, hostile text, numbers and JSON, forged ids and cursors.
   */
  hostile: boolean;
}

/** `usual`, or now and then `hostile` when the context is hostile. */
const mix = (ctx: Context, usual: fc.Arbitrary<Wire>, hostile: fc.Arbitrary<Wire>, hostileWeight = 1): fc.Arbitrary<Wire> =>
  ctx.hostile ? fc.oneof({ weight: 20, arbitrary: usual }, { weight: Math.round(hostileWeight * 20), arbitrary: hostile }) : usual;

const ID_KINDS: RefKind[] = ["session", "user", "classroom", "booking"];

/** Which kind of real id an ID argument most likely wants, from its name and field. */
function idKind({ root, name }: Context): RefKind {
  if (/^(userId|studentId|toUserId)$/.test(name)) return "user";
  if (name === "classroomId") return "classroom";
  if (root === "createSoloSnapshot") return "soloSession";
  if (name === "id") {
    const field = root.toLowerCase();
    if (field.includes("booking")) return "booking";
    if (field.includes("classroom")) return "classroom";
    if (field === "user") return "user";
  }
  return "session";
}

function idArb(ctx: Context): fc.Arbitrary<Wire> {
  const real = fc.oneof(
    { weight: 8, arbitrary: ref(idKind(ctx)) as fc.Arbitrary<Wire> },
    { weight: 1, arbitrary: fc.oneof(...ID_KINDS.map((k) => ref(k))) as fc.Arbitrary<Wire> },
    { weight: 1, arbitrary: fc.uuid() as fc.Arbitrary<Wire> },
  );
  return mix(ctx, real, forgedId, 0.5);
}

function stringArb(ctx: Context): fc.Arbitrary<Wire> {
  const text = (usual: fc.Arbitrary<Wire>) => mix(ctx, usual, hostileString, 0.5);
  switch (ctx.name) {
    case "after":
      return ctx.hostile ? forgedCursor : ref("cursor");
    case "accessCode":
      return text(
        fc.oneof({ weight: 4, arbitrary: ref("accessCode") as fc.Arbitrary<Wire> }, { weight: 1, arbitrary: fc.string({ minLength: 6, maxLength: 8 }) }),
      );
    case "email":
      return text(fc.oneof({ weight: 3, arbitrary: ref("email") as fc.Arbitrary<Wire> }, { weight: 1, arbitrary: fc.emailAddress() }));
    case "password":
    case "currentPassword":
      return text(fc.oneof({ weight: 3, arbitrary: ref("password") as fc.Arbitrary<Wire> }, { weight: 1, arbitrary: plainString }));
    case "newPassword":
      return text(fc.string({ minLength: 8, maxLength: 40 }));
    default:
      return text(plainString);
  }
}

function intArb(ctx: Context): fc.Arbitrary<Wire> {
  const usual: fc.Arbitrary<Wire> = (() => {
    switch (ctx.name) {
      case "first":
        return fc.oneof({ weight: 4, arbitrary: fc.nat({ max: 20 }) }, { weight: 1, arbitrary: fc.constantFrom(0, 1, 100) });
      case "version":
        return fc.oneof(ref("snapshotVersion") as fc.Arbitrary<Wire>, fc.nat({ max: 10 }));
      case "baseVersion":
        return fc.oneof({ weight: 3, arbitrary: ref("boardVersion") as fc.Arbitrary<Wire> }, { weight: 1, arbitrary: fc.nat({ max: 5 }) });
      case "maxParticipants":
        return fc.integer({ min: 1, max: 60 });
      default:
        return fc.integer({ min: 0, max: 60 });
    }
  })();
  const edges = fc.constantFrom(-1, 101, 2 ** 31 - 1, -(2 ** 31), 0, 1000, 10_000);
  return mix(ctx, usual, fc.oneof(edges, hostileNumber));
}

function safeIntArb(ctx: Context): fc.Arbitrary<Wire> {
  const edges = fc.constantFrom(1, -1, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, 8.64e15, 1e12);
  return mix(ctx, fc.integer({ min: 0, max: 10_000_000 }), fc.oneof(edges, hostileNumber));
}

const floatArb = (ctx: Context) => mix(ctx, fc.double({ min: -10_000, max: 10_000, noNaN: true }), hostileNumber);

const DAY = 86_400_000;
function dateTimeArb(ctx: Context): fc.Arbitrary<Wire> {
  const soon = fc.integer({ min: -7 * DAY, max: 60 * DAY }).map((offset) => new Date(Date.now() + offset).toISOString());
  const odd = fc.oneof(
    fc.date({ min: new Date("0001-01-01T00:00:00Z"), max: new Date("9999-12-31T23:59:59Z"), noInvalidDate: true }).map((d) => d.toISOString()),
    fc.constantFrom(
      "+275760-09-13T00:00:00.000Z",
      "-271821-04-20T00:00:00.000Z",
      "0000-01-01T00:00:00Z",
      "9999-12-31T23:59:59.999Z",
      "2024-02-30T00:00:00Z",
      "2024-01-01",
      "2024-01-01T00:00:00+25:00",
      "not a date",
      "",
      "1e400",
    ),
  );
  return mix(ctx, soon, odd);
}

const settingsLike = (ctx: Context): fc.Arbitrary<Wire> =>
  fc.record(
    {
      theme: fc.constantFrom("dark", "light"),
      grid: fc.boolean(),
      zoom: fc.double({ min: 0.1, max: 10, noNaN: true }),
      note: stringArb({ ...ctx, name: "note" }),
    },
    { requiredKeys: [] },
  );

// --- board operations (BOARD_OPS.md), mostly well-shaped so they reach the board engine

const BOARD_OP_TYPES = [
  "STROKE",
  "OBJECT_CREATE",
  "OBJECT_MODIFY",
  "OBJECT_DELETE",
  "TEXT_EDIT",
  "IMAGE_UPLOAD",
  "LAYER_ADD",
  "LAYER_DELETE",
  "LAYER_REORDER",
  "UNDO",
  "REDO",
  "CLEAR",
  "RESTORE",
] as const;
type BoardOpType = (typeof BOARD_OP_TYPES)[number];

/** The pieces of board JSON, clean or (now and then) hostile. */
function boardParts(ctx: Context) {
  const sometimes = (usual: fc.Arbitrary<Wire>, hostile: fc.Arbitrary<Wire>) =>
    ctx.hostile ? fc.oneof({ weight: 6, arbitrary: usual }, { weight: 1, arbitrary: hostile }) : usual;
  const objectId = sometimes(fc.constantFrom("o1", "o2", "o3", "t1", "img1"), fc.oneof(hostileString, wrongType));
  const layerId = sometimes(fc.constantFrom("default", "l2", "l3"), fc.oneof(hostileString, wrongType));
  const coord = sometimes(fc.oneof(fc.integer({ min: -2000, max: 2000 }), fc.double({ min: -1e4, max: 1e4, noNaN: true })), hostileNumber);
  const text = sometimes(plainString, hostileString);
  const json = ctx.hostile ? hostileJson : fc.constant({});
  const props = sometimes(
    fc.record({ x: coord, y: coord, w: coord, h: coord, color: fc.constantFrom("#f00", "red", "#00ff00") as fc.Arbitrary<Wire>, text }, { requiredKeys: [] }),
    hostileJson,
  );
  const maybe = (arb: fc.Arbitrary<Wire>) => fc.oneof(arb as fc.Arbitrary<Wire | typeof OMIT>, fc.constant(OMIT));
  // (an "image" needs a url prop: the hostile ones try it without)
  const kind = sometimes(fc.constantFrom("rect", "ellipse", "text", "stroke"), fc.oneof(fc.constant("image"), wrongType));
  const size = sometimes(fc.integer({ min: 0, max: 2000 }), coord);
  // A valid board (unique layers, objects keyed by their id on one of them), or now and then a broken one.
  const validBoard: fc.Arbitrary<Wire> = fc.uniqueArray(fc.constantFrom("default", "l2", "l3"), { minLength: 1, maxLength: 3 }).chain((layers) =>
    fc.record({
      layers: fc.tuple(...layers.map((id) => fc.record({ id: fc.constant(id), name: text }))),
      objects: fc
        .uniqueArray(fc.constantFrom("o1", "o2", "o3", "t1"), { maxLength: 4 })
        .chain((ids) =>
          fc.tuple(...ids.map((id) => fc.record({ id: fc.constant(id), kind, layerId: fc.constantFrom(...layers), props, createdBy: ref("user") }))),
        )
        .map((objects) => Object.fromEntries(objects.map((o) => [o.id as string, o]))),
    }),
  );
  const brokenBoard: fc.Arbitrary<Wire> = fc.record(
    {
      layers: fc.array(fc.record({ id: layerId, name: text }), { maxLength: 3 }),
      objects: fc
        .array(fc.tuple(fc.constantFrom("o1", "o2", "o3"), objectId, kind, layerId, props), { maxLength: 4 })
        .map((objects) => Object.fromEntries(objects.map(([key, id, k, layer, p]) => [key, { id, kind: k, layerId: layer, props: p }]))),
      version: maybe(intArb({ ...ctx, name: "version" })),
    },
    { requiredKeys: ["layers", "objects"] },
  );
  const board = ctx.hostile ? fc.oneof(validBoard, brokenBoard, hostileJson) : validBoard;
  const data = (type: BoardOpType): fc.Arbitrary<Wire> => {
    switch (type) {
      case "STROKE":
        return fc.record({
          id: objectId,
          layerId: maybe(layerId),
          points: fc.array(fc.tuple(coord, coord), { minLength: ctx.hostile ? 0 : 1, maxLength: 6 }),
          color: maybe(text),
          width: maybe(size),
        });
      case "OBJECT_CREATE":
        return fc.record({ id: objectId, kind, layerId: maybe(layerId), props });
      case "OBJECT_MODIFY":
        return fc.record({ id: objectId, props });
      case "OBJECT_DELETE":
        return fc.record({ id: objectId });
      case "LAYER_DELETE":
        return fc.record({ id: layerId });
      case "TEXT_EDIT":
        return fc.record({ id: objectId, text });
      case "IMAGE_UPLOAD":
        return fc.record({ id: objectId, url: sometimes(fc.webUrl(), hostileString), x: coord, y: coord, width: size, height: size, layerId: maybe(layerId) });
      case "LAYER_ADD":
        return fc.record({ id: layerId, name: text, index: maybe(sometimes(fc.integer({ min: 0, max: 3 }), hostileNumber)) });
      case "LAYER_REORDER":
        return fc.record({ order: fc.oneof(fc.shuffledSubarray(["default", "l2", "l3"]) as fc.Arbitrary<Wire>, fc.array(layerId, { maxLength: 4 })) });
      case "RESTORE":
        return board;
      default:
        return json;
    }
  };
  return { board, data };
}

function boardEventArb(ctx: Context): fc.Arbitrary<Wire> {
  const { data } = boardParts(ctx);
  // RESTORE is written by the server only: a client sending it is refused (hostile calls try).
  const types = ctx.hostile ? BOARD_OP_TYPES : BOARD_OP_TYPES.filter((t) => t !== "RESTORE");
  const opId = mix(
    ctx,
    fc.oneof({ weight: 6, arbitrary: fc.uuid() as fc.Arbitrary<Wire> }, { weight: 1, arbitrary: fc.constantFrom("c1", "c2", "c3") }),
    hostileString,
    0.25,
  );
  const baseVersion = intArb({ ...ctx, name: "baseVersion" });
  // (arbitraries built once, not per generated value: building them costs more than using them)
  return fc.oneof(
    ...types.map((type) =>
      fc.record({
        type: mix(ctx, fc.constant(type), fc.constantFrom("NOPE", "stroke", "", 1), 0.25),
        data: mix(ctx, data(type), hostileJson, 0.25),
        baseVersion,
        // mostly fresh ids; a small pool so that some repeat (accepted once, BOARD_OPS.md "Idempotency")
        clientOpId: opId,
      }),
    ),
  );
}

/** JSON scalar values for the argument or input field `ctx`. */
function jsonArb(ctx: Context): fc.Arbitrary<Wire> {
  if (ctx.name === "board") return boardParts(ctx).board;
  if (ctx.name === "settings") return mix(ctx, settingsLike(ctx), fc.oneof(hostileJson, deepJson));
  return mix(
    ctx,
    fc.oneof(settingsLike(ctx), fc.constant<Wire>({ sdp: "v=0" }), fc.constant<Wire>([1, 2, 3])),
    fc.oneof({ weight: 3, arbitrary: hostileJson }, { weight: 1, arbitrary: deepJson }),
    2,
  );
}

function scalarArb(typeName: string, ctx: Context): fc.Arbitrary<Wire> {
  switch (typeName) {
    case "ID":
      return idArb(ctx);
    case "String":
      return stringArb(ctx);
    case "Int":
      return intArb(ctx);
    case "Float":
      return floatArb(ctx);
    case "SafeInt":
      return safeIntArb(ctx);
    case "Boolean":
      return fc.boolean();
    case "DateTime":
      return dateTimeArb(ctx);
    case "JSON":
      return jsonArb(ctx);
    default:
      throw new Error(`fuzz: no generator for scalar ${typeName}: add one in tests/support/fuzz-schema.ts`);
  }
}

/** Keys that are not input fields: unknown, or the ones that pollute prototypes. */
const EXTRA_KEYS = ["__proto__", "constructor", "prototype", "bogus"];

/**
 * Values for an argument or input field of `type`. Clean: what a client could send (null
 * or left out only where the type allows). Hostile: besides, now and then, null or nothing
 * where required, a value of the wrong type, an unknown or prototype key, a hostile leaf.
 */
export function valueArb(type: GraphQLInputType, ctx: Context): fc.Arbitrary<Wire | typeof OMIT> {
  if (isNonNullType(type)) {
    const value = nullableValueArb(type.ofType, ctx);
    if (!ctx.hostile) return value;
    return fc.oneof(
      { weight: 30, arbitrary: value },
      { weight: 1, arbitrary: fc.constant(null) },
      { weight: 1, arbitrary: fc.constant(OMIT) },
      { weight: 1, arbitrary: wrongType },
    );
  }
  return fc.oneof(
    { weight: 6, arbitrary: nullableValueArb(type, ctx) },
    { weight: 2, arbitrary: fc.constant(OMIT) },
    { weight: 1, arbitrary: fc.constant(null) },
  );
}

function nullableValueArb(type: GraphQLInputType, ctx: Context): fc.Arbitrary<Wire> {
  if (isListType(type)) {
    const item = valueArb(type.ofType, ctx).map((v) => (v === OMIT ? null : v));
    if (!ctx.hostile)
      return fc.oneof(
        { weight: 3, arbitrary: fc.array(item, { minLength: 1, maxLength: 1 }) },
        { weight: 1, arbitrary: fc.array(item, { minLength: 1, maxLength: 4 }) },
      );
    const long = ctx.root === "applyBoardEvents" ? [{ weight: 1, arbitrary: fc.array(item, { minLength: 495, maxLength: 505 }) }] : [];
    return fc.oneof({ weight: 10, arbitrary: fc.array(item, { maxLength: 4 }) }, { weight: 1, arbitrary: item as fc.Arbitrary<Wire> }, ...long);
  }
  if (isNonNullType(type)) return nullableValueArb(type.ofType, ctx);
  if (isEnumType(type)) {
    const values = fc.constantFrom(...type.getValues().map((v) => v.name)) as fc.Arbitrary<Wire>;
    return mix(ctx, values, fc.constantFrom("NOPE", type.getValues()[0].name.toLowerCase(), "", 0), 0.2);
  }
  if (isInputObjectType(type)) {
    if (type.name === "BoardEventInput") return boardEventArb(ctx);
    const fields = Object.values(type.getFields());
    const record = fc.record(Object.fromEntries(fields.map((f) => [f.name, valueArb(f.type, { ...ctx, name: f.name })]))) as fc.Arbitrary<Wire>;
    if (!ctx.hostile) return record;
    const extra = fc.option(fc.tuple(fc.constantFrom(...EXTRA_KEYS), wrongType), { freq: 8 });
    return fc.tuple(record, extra).map(([value, more]) => (more ? Object.fromEntries([...Object.entries(value as object), more]) : value) as Wire);
  }
  return mix(ctx, scalarArb(type.name, ctx), wrongType, 0.1);
}

/**
 * The variables of one call of `target`: all clean (4 in 10), one hostile among clean ones
 * (4 in 10: bad input that gets past everything else, deep into the service), or all
 * hostile (2 in 10).
 */
export function variablesArb(target: Target): fc.Arbitrary<Record<string, Wire | typeof OMIT>> {
  const arbs = (hostile: (name: string) => boolean) =>
    fc.record(
      Object.fromEntries(
        target.variables.map((v) => [v.name, valueArb(v.arg.type, { root: target.path[v.step].name, name: v.arg.name, hostile: hostile(v.name) })]),
      ),
    );
  if (target.variables.length === 0) return fc.constant({});
  return fc.oneof(
    { weight: 4, arbitrary: arbs(() => false) },
    { weight: 4, arbitrary: fc.oneof(...target.variables.map((bad) => arbs((name) => name === bad.name))) },
    { weight: 2, arbitrary: arbs(() => true) },
  );
}
