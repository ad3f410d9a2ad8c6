/**
 * The long lesson seek and report read: LESSON_EVENTS board events written through
 * applyBoardEvents in batches of 500 (so its rows, versions and any snapshots the write path
 * takes are exactly what the server makes), seeded once per run and shared.
 */
import { gql } from "./clients";
import { scaled } from "./measure";
import { createSession, type SeededUser, type Stack } from "./stack";

const BATCH = 500;

export interface Lesson {
  sessionId: string;
  tutor: SeededUser;
  students: SeededUser[];
  events: number;
  lastEventMs: number;
}

/**
 * Op n of the lesson: mostly strokes, every tenth a modify of a stroke drawn five ops
 * earlier, every fiftieth a delete, so replay does more than append.
 */
function lessonOp(n: number, baseVersion: number) {
  const id = (k: number) => `l${k}`;
  if (n % 50 === 48) return { clientOpId: `c${n}`, type: "OBJECT_DELETE", baseVersion, data: { id: id(n - 2) } };
  if (n % 10 === 9) return { clientOpId: `c${n}`, type: "OBJECT_MODIFY", baseVersion, data: { id: id(n - 5), props: { color: "#e53935" } } };
  return {
    clientOpId: `c${n}`,
    type: "STROKE",
    baseVersion,
    data: {
      id: id(n),
      points: [
        [n % 997, n % 701],
        [(n % 997) + 8, (n % 701) + 3],
      ],
      color: "#222",
      width: 1,
    },
  };
}

const seeded = new WeakMap<Stack, Promise<Lesson>>();

/** The lesson of this run, seeded through `url` the first time it is asked for. */
export function lessonOf(stack: Stack, url: string, log: (m: string) => void): Promise<Lesson> {
  let lesson = seeded.get(stack);
  if (!lesson) {
    lesson = seed(stack, url, log);
    seeded.set(stack, lesson);
  }
  return lesson;
}

async function seed(stack: Stack, url: string, log: (m: string) => void): Promise<Lesson> {
  const events = Math.ceil(scaled(50_000, BATCH) / BATCH) * BATCH;
  const [tutor] = await stack.seedUsers("lesson-tutor", 1, "TUTOR");
  const students = await stack.seedUsers("lesson-student", 3, "STUDENT");
  const sessionId = await createSession(url, tutor, students);
  const t0 = Date.now();
  let version = 0;
  for (let b = 0; b < events / BATCH; b++) {
    const ops = Array.from({ length: BATCH }, (_, i) => lessonOp(b * BATCH + i, version));
    const { applyBoardEvents } = await gql(
      url,
      `mutation($s: ID!, $e: [BoardEventInput!]!) { applyBoardEvents(sessionId: $s, events: $e) { version conflicts { clientOpId } } }`,
      { s: sessionId, e: ops },
      tutor.token,
    );
    if (applyBoardEvents.conflicts.length || applyBoardEvents.version !== version + BATCH)
      throw new Error(`lesson seed: batch ${b} answered version ${applyBoardEvents.version}`);
    version = applyBoardEvents.version;
  }
  const { rows } = await stack.db.query<{ last_event_ms: string }>(`SELECT last_event_ms FROM classroom_sessions WHERE id = $1`, [sessionId]);
  log(`seeded a ${events}-event lesson in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  return { sessionId, tutor, students, events, lastEventMs: Number(rows[0].last_event_ms) };
}
