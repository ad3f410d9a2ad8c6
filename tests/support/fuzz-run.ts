import assert from "node:assert/strict";
import fc from "fast-check";
import { getVariableValues, parse, type GraphQLSchema, type OperationDefinitionNode, type VariableDefinitionNode } from "graphql";
import { ErrorCode } from "../../src/schema/errors";
import { buildGraphQLSchema } from "../../src/schema/build-schema";
import { fuzzGql, postGraphQL, type FuzzResponse } from "./fuzz-client";
import { documentOf, fuzzTargets, variablesArb, type Target } from "./fuzz-schema";
import { OMIT, Ref, refsIn, toJsonText, type Wire } from "./fuzz-values";
import { FuzzWorld, type Who } from "./fuzz-world";
import type { TestServer } from "./test-server";

/**
 * The fuzzer's loop: batches of generated calls of every Query and Mutation field (see
 * fuzz-schema.ts), sent as variables over HTTP to a real server as the tutor, the student,
 * another tutor, an admin or nobody. For every response: no 5xx, no INTERNAL_SERVER_ERROR,
 * only the contract's codes. For every mutation that failed: what it names (sessions,
 * bookings, classrooms) and what the caller owns read the same after as before, i.e.
 * nothing was partly written. After every batch: `{ __typename }` still answers and
 * Object.prototype gained nothing.
 */
export interface FuzzOptions {
  seed: number;
  /** Calls in total. */
  runs: number;
  /** fast-check's counterexample path, to replay one batch of a failed run. */
  path?: string;
  batchSize?: number;
}

export interface FuzzReport {
  calls: number;
  batches: number;
  /** Batches after which the live lesson or the scheduled session was made again / the whole world. */
  repairs: number;
  reseeds: number;
  /** Target → outcome ("ok" or an error code) → count. */
  outcomes: Map<string, Map<string, number>>;
  /** Target → milliseconds spent in its calls (the call itself, not the reads around it). */
  millis: Map<string, number>;
  /** Milliseconds spent reading fingerprints and checking the world. */
  checkMillis: number;
  /** The slowest calls: milliseconds, target, size of the variables' text. */
  slowest: Array<{ ms: number; target: string; bytes: number }>;
  /** Calls refused for their variables before anything ran (graphql-js's coercion agrees). */
  refused: number;
  /** With FUZZ_VERBOSE: target → a few error messages. */
  messages: Map<string, Set<string>>;
  targets: Target[];
}

interface FuzzCase {
  target: number;
  who: Who;
  /** 0: check this call for a partial write even when its mutation is not in CHECKED_ALWAYS. */
  audit: number;
  variables: Record<string, Wire | typeof OMIT>;
}

const CONTRACT_CODES = new Set<unknown>(Object.values(ErrorCode).filter((c) => c !== ErrorCode.INTERNAL_SERVER_ERROR));
/** Mutations whose arguments name the objects a failed call must leave as they were. */
const FINGERPRINTED_KINDS = new Set(["session", "soloSession", "booking", "classroom"]);

const truncate = (text: string, max = 1500) => (text.length > max ? `${text.slice(0, max)}… (${text.length} characters)` : text);

export async function runFuzz(server: TestServer, options: FuzzOptions): Promise<FuzzReport> {
  const schema = await buildGraphQLSchema();
  const targets = fuzzTargets(schema);
  const documents = targets.map(documentOf);
  const definitions = documents.map((d) => (parse(d).definitions[0] as OperationDefinitionNode).variableDefinitions ?? []);
  const batchSize = options.batchSize ?? 25;
  const world = await FuzzWorld.seed(server);
  const report: FuzzReport = {
    calls: 0,
    batches: 0,
    repairs: 0,
    reseeds: 0,
    outcomes: new Map(),
    millis: new Map(),
    checkMillis: 0,
    refused: 0,
    slowest: [],
    messages: new Map(),
    targets,
  };
  const prototypeKeys = Object.getOwnPropertyNames(Object.prototype).sort();

  // The writes that matter most are weighted up: board operations and session settings.
  const weightOf = (t: Target) => (/^Mutation\.(applyBoardEvents|syncPush|updateSession|importBoard|createSoloSnapshot|restoreSnapshot)$/.test(t.name) ? 3 : 1);
  const who = fc.oneof(
    { weight: 5, arbitrary: fc.constant<Who>("tutor") },
    { weight: 4, arbitrary: fc.constant<Who>("student") },
    { weight: 1, arbitrary: fc.constantFrom<Who>("stranger", "admin", "anonymous") },
  );
  const caseArb: fc.Arbitrary<FuzzCase> = fc.oneof(
    ...targets.map((t, i) => ({
      weight: weightOf(t),
      arbitrary: fc.record({ target: fc.constant(i), who, variables: variablesArb(t), audit: fc.nat({ max: 3 }) }),
    })),
  );

  // What a failed mutation must have left as it was, read in one request (by the admin, who
  // reads every session), cached until a call succeeds.
  // (Parsed, and compared as data: a board served from the database has its props' keys in
  // jsonb order, one from the board cache in insertion order.)
  const fingerprints = new Map<string, unknown[]>();
  const readState = async (c: FuzzCase, target: Target, refs: Ref[]): Promise<unknown[]> => {
    const ids = new Map<string, { kind: string; id: string }>();
    for (const ref of refs) {
      const id = world.resolve(ref);
      const kind = ref.kind === "soloSession" ? "session" : ref.kind;
      if (typeof id === "string") ids.set(`${kind}:${id}`, { kind, id });
    }
    const actor = OWNED_BY_ACTOR.test(target.name) ? world.user(c.who) : undefined;
    const board = BOARD_WRITES.test(target.name);
    const key = JSON.stringify([[...ids.keys()].sort(), actor?.id, board]);
    const cached = fingerprints.get(key);
    if (cached !== undefined) return cached;
    const defs: string[] = [];
    const fields: string[] = [];
    const variables: Record<string, string> = {};
    [...ids.values()].forEach(({ kind, id }, i) => {
      defs.push(`$x${i}: ID!`);
      variables[`x${i}`] = id;
      const state =
        kind === "session" && board
          ? SESSION_STATE.replace("board { version lastSeq }", "board { version lastSeq objectCount layers objects }")
          : STATE_OF[kind];
      fields.push(`x${i}: ${state.replace("$id", `$x${i}`)}`);
    });
    const state: unknown[] = [];
    if (fields.length) {
      const res = await fuzzGql(server, `query Fingerprint(${defs.join(", ")}) { ${fields.join(" ")} }`, variables, world.user("admin")!.token);
      state.push(res.body);
      // Keeps baseVersion refs near the live board's version, so some board ops apply without conflicts.
      const live = [...ids.values()].findIndex(({ id }) => id === world.live);
      if (live >= 0) world.boardVersion = res.body?.data?.[`x${live}`]?.board?.version ?? world.boardVersion;
    }
    if (actor) state.push((await fuzzGql(server, ACTOR_STATE, {}, actor.token)).body);
    fingerprints.set(key, state);
    return state;
  };

  const runCase = async (c: FuzzCase) => {
    const target = targets[c.target];
    const query = documents[c.target];
    const actor = world.user(c.who);
    // logout revokes the token it is called with: give it one of its own.
    const token = actor && target.name === "Mutation.logout" ? await world.disposableToken(actor) : actor?.token;
    const variables = Object.fromEntries(Object.entries(c.variables).filter(([, v]) => v !== OMIT));
    const variablesText = toJsonText(variables as Wire, world.resolve);
    const isMutation = target.operation === "mutation";
    // Every failed board write or settings change is checked for a partial write; other
    // mutations one call in four (reading the state around a call costs as much as the call;
    // the long run checks thousands of each).
    // Variables that do not coerce are refused before anything runs (checked below): no state to compare.
    const refused = refusedVariables(schema, definitions[c.target], variablesText);
    const checked = isMutation && !refused && (CHECKED_ALWAYS.test(target.name) || c.audit === 0);
    const refs = checked
      ? Object.values(variables)
          .flatMap((v) => refsIn(v as Wire))
          .filter((r) => FINGERPRINTED_KINDS.has(r.kind))
      : [];
    let checkStarted = Date.now();
    const before = checked ? await readState(c, target, refs) : undefined;
    report.checkMillis += Date.now() - checkStarted;

    const callStarted = Date.now();
    const request = `operation (${target.name}, as ${c.who}): ${query}\nvariables: ${truncate(variablesText)}`;
    let res: FuzzResponse;
    try {
      res = await postGraphQL(server, `{"query":${JSON.stringify(query)},"variables":${variablesText}}`, token);
    } catch (err) {
      throw new Error(`the server did not answer (${(err as Error).message})\n${request}`, { cause: err });
    }
    const { text, body } = res;
    const ms = Date.now() - callStarted;
    report.slowest.push({ ms, target: target.name, bytes: variablesText.length });
    report.slowest = report.slowest.sort((a, b) => b.ms - a.ms).slice(0, 5);
    report.millis.set(target.name, (report.millis.get(target.name) ?? 0) + Date.now() - callStarted);
    const describe = (problem: string) => [problem, request, `response: HTTP ${res.status} ${truncate(text)}`].join("\n");
    assert.ok(res.status < 500, describe(`HTTP ${res.status}`));
    for (const error of body?.errors ?? []) {
      const code = error.extensions?.code;
      assert.notEqual(code, ErrorCode.INTERNAL_SERVER_ERROR, describe("INTERNAL_SERVER_ERROR"));
      assert.ok(CONTRACT_CODES.has(code), describe(`an error code not in the contract: ${String(code)}`));
    }

    if (refused && res.status !== 413) {
      assert.equal(body?.data, undefined, describe("variables graphql-js refuses to coerce were executed"));
      assert.ok(res.status >= 400 || body?.errors?.length, describe("variables graphql-js refuses to coerce got no error"));
    }

    if (refused) report.refused++;
    const result = body?.data?.r;
    const outcome = result != null ? "ok" : String(body?.errors?.[0]?.extensions?.code ?? (res.status === 200 ? "null" : `HTTP ${res.status}`));
    const counts = report.outcomes.get(target.name) ?? new Map<string, number>();
    counts.set(outcome, (counts.get(outcome) ?? 0) + 1);
    report.outcomes.set(target.name, counts);
    if (process.env.FUZZ_VERBOSE && outcome !== "ok") {
      const messages = report.messages.get(target.name) ?? new Set<string>();
      if (messages.size < 6) messages.add(`${outcome}: ${truncate(body?.errors?.[0]?.message ?? text, 160)}`);
      report.messages.set(target.name, messages);
    }
    for (const cursor of cursorsIn(body?.data)) world.remember(cursor);

    if (!isMutation) return;
    checkStarted = Date.now();
    if (result == null && checked) {
      fingerprints.clear(); // read again, not from the cache
      const after = await readState(c, target, refs);
      assert.deepEqual(after, before, describe(`the failed mutation changed what it names or what its caller owns (a partial write)`));
    } else if (result != null) {
      fingerprints.clear();
      // changePassword revokes the user's earlier tokens and answers a fresh one: keep using it.
      if (target.name === "Mutation.changePassword" && actor && result.accessToken) {
        actor.token = result.accessToken;
        actor.password = JSON.parse(variablesText).v0_newPassword;
      }
    }
    report.checkMillis += Date.now() - checkStarted;
  };

  const property = fc.asyncProperty(fc.array(caseArb, { minLength: batchSize, maxLength: batchSize }), async (batch) => {
    for (const c of batch) {
      await runCase(c);
      report.calls++;
    }
    report.batches++;
    const probe = await fuzzGql(server, `{ __typename }`);
    assert.equal(probe.status, 200, `the server stopped answering { __typename }: ${probe.text}`);
    assert.deepEqual(probe.body?.data, { __typename: "Query" }, probe.text);
    assert.deepEqual(Object.getOwnPropertyNames(Object.prototype).sort(), prototypeKeys, "Object.prototype was polluted");
    assert.equal(({} as Record<string, unknown>).x, undefined, "Object.prototype was polluted");
    const checkStarted = Date.now();
    const maintained = await world.maintain();
    if (maintained !== "intact") fingerprints.clear();
    if (maintained === "repaired") report.repairs++;
    if (maintained === "reseeded") report.reseeds++;
    report.checkMillis += Date.now() - checkStarted;
  });

  const runs = Math.max(1, Math.ceil(options.runs / batchSize));
  // With a path, only the batch it names is run again.
  const outcome = await fc.check(property, {
    seed: options.seed,
    numRuns: options.path ? 1 : runs,
    endOnFailure: true,
    ...(options.path ? { path: options.path } : {}),
  });
  if (outcome.failed) {
    const error = outcome.errorInstance instanceof Error ? outcome.errorInstance.message : String(outcome.errorInstance);
    throw new Error(
      `fuzz: a call failed after ${report.calls} calls. Replay: FUZZ_SEED=${outcome.seed} FUZZ_PATH=${outcome.counterexamplePath} ` +
        `(runs that batch alone, on a fresh server)\n${error}`,
    );
  }
  return report;
}

/** Whether graphql-js refuses `variablesText` (not JSON at all, or variables that do not coerce). */
function refusedVariables(schema: GraphQLSchema, definitions: readonly VariableDefinitionNode[], variablesText: string): boolean {
  let inputs: Record<string, unknown>;
  try {
    inputs = JSON.parse(variablesText);
  } catch {
    return true;
  }
  return getVariableValues(schema, definitions, inputs).errors !== undefined;
}

/** The cursors in a response's data, wherever they are. */
function cursorsIn(value: unknown, found: string[] = []): string[] {
  if (!value || typeof value !== "object") return found;
  for (const [key, inner] of Object.entries(value)) {
    if (typeof inner === "string" && /^(cursor|endCursor|startCursor)$/.test(key)) found.push(inner);
    else cursorsIn(inner, found);
  }
  return found;
}

/** One line per target: how its calls ended. */
export function summarize(report: FuzzReport): string {
  const lines = [
    `${report.calls} calls in ${report.batches} batches over ${report.targets.length} operations (${report.refused} refused for their variables); the world was repaired ${report.repairs} times and seeded again ${report.reseeds} times; ${report.checkMillis} ms in checks`,
  ];
  const neverOk: string[] = [];
  for (const target of report.targets) {
    const counts = report.outcomes.get(target.name);
    if (!counts?.get("ok")) neverOk.push(target.name);
    const parts = [...(counts ?? new Map())].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${n}`);
    lines.push(`  ${target.name}: ${parts.join(", ") || "not called"} (${report.millis.get(target.name) ?? 0} ms)`);
    for (const message of report.messages.get(target.name) ?? []) lines.push(`      ${message}`);
  }
  lines.push(`never succeeded: ${neverOk.join(", ") || "none"}`);
  lines.push(`slowest calls: ${report.slowest.map((s) => `${s.target} ${s.ms} ms (${s.bytes} bytes of variables)`).join("; ")}`);
  return lines.join("\n");
}

/**
 * Mutations that write the board: their failures must leave the board's content as it was,
 * not only its version (a failed batch must not have touched the cached board either).
 */
const BOARD_WRITES = /^Mutation\.(applyBoardEvents|syncPush|importBoard|restoreSnapshot|createSoloSnapshot|saveBoard)$/;

const CHECKED_ALWAYS = /^Mutation\.(applyBoardEvents|syncPush|importBoard|restoreSnapshot|createSoloSnapshot|saveBoard|updateSession)$/;

/** Mutations that create something the caller owns (or change the caller): their failures must leave ACTOR_STATE as it was. */
const OWNED_BY_ACTOR = /^Mutation\.(create\w+|updateProfile|changePassword)$/;

const ACTOR_STATE = `{ me { id displayName email role } storageUsage { usedBytes } mySessions(first: 0) { totalCount } myClassrooms { id name } myBookings(first: 0) { totalCount } }`;

const SESSION_STATE = `session(id: $id) {
  status title settings isRecorded maxParticipants scheduledStart scheduledEnd actualStart actualEnd accessCode
  board { version lastSeq }
  participants { user { id } status role handRaised media { audioEnabled videoEnabled screenSharing connectionQuality }
    permissions { canAddLayers canClearBoard canDeleteLayers canDraw canErase canExport canInvite canKick canPause canReorderLayers canShareScreen canTerminate canToggleAudio canToggleVideo canUploadImages } }
}`;

const STATE_OF: Record<string, string> = {
  session: SESSION_STATE,
  booking: `booking(id: $id) { status scheduledStart scheduledEnd session { id status } }`,
  classroom: `classroom(id: $id) { name members { id } sessions(first: 0) { totalCount } }`,
};
