import { randomInt } from "node:crypto";
import { randomBytes } from "node:crypto";
import { ok } from "./assertions";
import { fuzzGql } from "./fuzz-client";
import type { User } from "./lesson";
import type { Ref } from "./fuzz-values";
import type { GraphQLResponse, TestServer } from "./test-server";

export type Who = "tutor" | "student" | "stranger" | "admin" | "anonymous";

const HOUR = 3_600_000;

/**
 * The data the fuzzer's calls reach into: a tutor hosting an ACTIVE group lesson with a
 * seated student (a board with objects, a layer and a saved snapshot), a SCHEDULED lesson
 * of the tutor with settings, solo workspaces of both, a classroom with the student as
 * member, a pending and a confirmed booking, another tutor's session ("stranger"), and an
 * admin. Forged-but-real ids ({@link Ref}) resolve to these. When fuzzed calls have used
 * it up (the lesson completed, the student kicked, a session deleted), {@link seed} makes a
 * fresh one with fresh users.
 */
export class FuzzWorld {
  /** live, scheduled, tutor's solo, student's solo, stranger's, the confirmed booking's (in this order) */
  sessions: string[] = [];
  classrooms: string[] = [];
  bookings: string[] = [];
  accessCodes: string[] = [];
  /** Cursors the server handed out, to be sent back (to their own list or another). */
  cursors: string[] = [];
  boardVersion = 0;
  private users!: Record<Exclude<Who, "anonymous">, User>;

  private constructor(private readonly server: TestServer) {}

  static async seed(server: TestServer): Promise<FuzzWorld> {
    const world = new FuzzWorld(server);
    await world.build();
    return world;
  }

  get live(): string {
    return this.sessions[0];
  }

  get scheduled(): string {
    return this.sessions[1];
  }

  user(who: Who): User | undefined {
    return who === "anonymous" ? undefined : this.users[who];
  }

  /** The real value `ref` stands for now. */
  resolve = (ref: Ref): unknown => {
    const pick = <T>(list: readonly T[]) => (list.length ? list[ref.index % list.length] : null);
    const { tutor, student, stranger, admin } = this.users;
    switch (ref.kind) {
      case "session": {
        // The live lesson and the scheduled one (board writes, settings) come up most.
        const [live, scheduled, ...others] = this.sessions;
        return pick([live, live, live, scheduled, scheduled, ...others]);
      }
      case "soloSession":
        return pick(this.sessions.slice(2, 4));
      case "user":
        // the seated student most (kick, role and permission changes need a participant)
        return pick([student.id, tutor.id, student.id, stranger.id, admin.id]);
      case "classroom":
        return pick(this.classrooms);
      case "booking":
        return pick(this.bookings);
      case "accessCode":
        return pick(this.accessCodes);
      case "email":
        return pick([tutor.email, student.email]);
      case "password":
        return pick([tutor.password, student.password]);
      case "cursor":
        return pick(this.cursors);
      case "boardVersion":
        // at or a little behind the live board (never ahead: that is refused as a whole)
        return Math.max(0, this.boardVersion - (ref.index % 3));
      case "snapshotVersion":
        return ref.index % 4;
    }
  };

  /** Keeps a cursor seen in a response, for later calls to send back. */
  remember(cursor: string): void {
    if (this.cursors.includes(cursor)) return;
    this.cursors.push(cursor);
    if (this.cursors.length > 32) this.cursors.shift();
  }

  /** A token of `user` that may be revoked (by a fuzzed logout) without logging the world out. */
  async disposableToken(user: User): Promise<string> {
    const res = await fuzzGql(this.server, `mutation { refreshAccessToken { accessToken } }`, {}, user.token);
    return res.body?.data?.refreshAccessToken?.accessToken ?? user.token;
  }

  /**
   * Puts back what fuzzed calls used up: a new live lesson when the old one ended or lost its
   * seated, drawing tutor or student; a new scheduled session when the old one was started,
   * ended or deleted. Seeds a whole new world when a login is gone or a repair is refused
   * (e.g. the tutor's createSession rate limit). Answers what it did.
   */
  async maintain(): Promise<"intact" | "repaired" | "reseeded"> {
    const { tutor, student } = this.users;
    const res = await fuzzGql(
      this.server,
      `query($live: ID!, $scheduled: ID!) {
        me { id }
        live: session(id: $live) { status participants { user { id } status role permissions { canDraw } } }
        scheduled: session(id: $scheduled) { status }
      }`,
      { live: this.live, scheduled: this.scheduled },
      tutor.token,
    );
    const studentMe = await fuzzGql(this.server, `{ me { id } }`, {}, student.token);
    const data = res.body?.data;
    if (!data?.me || !studentMe.body?.data?.me) return this.reseed();
    const seated = (id: string, role: string) =>
      data.live?.participants.some(
        (p: any) => p.user.id === id && p.role === role && p.permissions.canDraw && ["JOINING", "CONNECTED", "RECONNECTING"].includes(p.status),
      );
    const liveOk = data.live?.status === "ACTIVE" && seated(tutor.id, "HOST") && seated(student.id, "STUDENT");
    const scheduledOk = ["SCHEDULED", "WAITING"].includes(data.scheduled?.status);
    if (liveOk && scheduledOk) return "intact";
    try {
      if (!liveOk) await this.newLiveLesson();
      if (!scheduledOk) await this.newScheduledSession();
      return "repaired";
    } catch {
      return this.reseed();
    }
  }

  private async gql(query: string, variables: Record<string, unknown>, user: User) {
    return ok((await fuzzGql(this.server, query, variables, user.token)) as GraphQLResponse);
  }

  /** An ACTIVE group lesson of the tutor with the student seated, a few objects and a layer on its board (and a saved snapshot when `save`). */
  private async newLiveLesson(save = false): Promise<void> {
    const { tutor, student } = this.users;
    const created = (await this.gql(`mutation { createSession(input: { type: GROUP }) { id accessCode } }`, {}, tutor)).createSession;
    await this.gql(`mutation($s: ID!) { joinSession(id: $s) { participant { id } } }`, { s: created.id }, tutor);
    await this.gql(`mutation($c: String!) { joinSessionByCode(accessCode: $c) { participant { id } } }`, { c: created.accessCode }, student);
    await this.gql(`mutation($s: ID!) { startSession(id: $s) { status } }`, { s: created.id }, tutor);
    const ops = [
      { clientOpId: "seed-1", type: "OBJECT_CREATE", baseVersion: 0, data: { id: "o1", kind: "rect", props: { x: 1, y: 2, w: 3, h: 4 } } },
      { clientOpId: "seed-2", type: "LAYER_ADD", baseVersion: 1, data: { id: "l2", name: "Notes" } },
      { clientOpId: "seed-3", type: "TEXT_EDIT", baseVersion: 2, data: { id: "t1", text: "hello" } },
    ];
    await this.gql(`mutation($s: ID!, $e: [BoardEventInput!]!) { applyBoardEvents(sessionId: $s, events: $e) { version } }`, { s: created.id, e: ops }, tutor);
    if (save) await this.gql(`mutation($s: ID!) { saveBoard(sessionId: $s) { version } }`, { s: created.id }, tutor);
    this.boardVersion = ops.length;
    this.sessions[0] = created.id;
    this.accessCodes[0] = created.accessCode;
  }

  /** A SCHEDULED lesson of the tutor, with settings, in a far-future slot of its own. */
  private async newScheduledSession(): Promise<void> {
    const scheduled = (
      await this.gql(
        `mutation($i: CreateSessionInput!) { createSession(input: $i) { id accessCode } }`,
        { i: { type: "LESSON", title: "Later", settings: { theme: "dark" }, ...this.slot() } },
        this.users.tutor,
      )
    ).createSession;
    this.sessions[1] = scheduled.id;
    this.accessCodes[1] = scheduled.accessCode;
  }

  /** A one-hour slot far in the future, a different one each time, so bookings never clash. */
  private slot() {
    const start = Date.UTC(2040, 0, 1) + randomInt(0, 1_000_000) * HOUR;
    return { scheduledStart: new Date(start).toISOString(), scheduledEnd: new Date(start + HOUR).toISOString() };
  }

  private async build(): Promise<void> {
    const server = this.server;
    const [tutor, student, stranger, admin] = await Promise.all([
      this.register("TUTOR"),
      this.register("STUDENT"),
      this.register("TUTOR"),
      this.register("STUDENT"),
    ]);
    // What `npm run admin -- <email>` does.
    await server.app.db.query(`UPDATE users SET role = 'ADMIN' WHERE id = $1`, [admin.id]);
    this.users = { tutor, student, stranger, admin };
    this.sessions = [];
    this.accessCodes = [];
    await this.newLiveLesson(true);
    await this.newScheduledSession();

    const solo = `mutation { createSoloSession(title: "Mine") { id } }`;
    const tutorSolo = (await this.gql(solo, {}, tutor)).createSoloSession.id;
    const studentSolo = (await this.gql(solo, {}, student)).createSoloSession.id;
    const strangers = (await this.gql(`mutation { createSession(input: { type: GROUP }) { id accessCode } }`, {}, stranger)).createSession;
    const classroom = (await this.gql(`mutation { createClassroom(name: "Fuzz") { id } }`, {}, tutor)).createClassroom.id;
    await this.gql(`mutation($c: ID!, $u: ID!) { addClassroomMember(classroomId: $c, userId: $u) { id } }`, { c: classroom, u: student.id }, tutor);
    const book = `mutation($i: CreateBookingInput!) { createBooking(input: $i) { id } }`;
    const pending = (await this.gql(book, { i: { studentId: student.id, classroomId: classroom, ...this.slot() } }, tutor)).createBooking.id;
    const confirmed = (await this.gql(book, { i: { studentId: student.id, ...this.slot() } }, tutor)).createBooking.id;
    const booked = (await this.gql(`mutation($b: ID!) { confirmBooking(id: $b) { session { id } } }`, { b: confirmed }, tutor)).confirmBooking.session.id;

    this.sessions.push(tutorSolo, studentSolo, strangers.id, booked);
    this.classrooms = [classroom];
    this.bookings = [pending, confirmed];
    this.accessCodes.push(strangers.accessCode);
    this.cursors = [];
  }

  private async register(role: "TUTOR" | "STUDENT"): Promise<User> {
    const name = `fuzz-${role.toLowerCase()}-${randomBytes(4).toString("hex")}`;
    const email = `${name}@example.test`;
    const password = "correct horse battery staple";
    const input = { email, password, displayName: name, role };
    const { register } = ok(
      (await fuzzGql(this.server, `mutation($input: RegisterInput!) { register(input: $input) { accessToken user { id } } }`, { input })) as GraphQLResponse,
    );
    return { token: register.accessToken, id: register.user.id, email, password };
  }

  /** Seeds a fresh world in place (new users, sessions, classroom, bookings). */
  async reseed(): Promise<"reseeded"> {
    await this.build();
    return "reseeded";
  }
}
