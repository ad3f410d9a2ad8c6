import { In, type DataSource } from "typeorm";
import { isUuid, type AccessPolicy } from "../auth/access";
import type { AuthContext } from "../auth/auth-context";
import { ClassroomEntity, ClassroomMemberEntity } from "../entities/classroom.entity";
import type { SessionEntity } from "../entities/session.entity";
import { UserEntity } from "../entities/user.entity";
import type { Config } from "../config";
import type { RateLimiter } from "../infra/rate-limiter";
import { invalidInput, rateLimited } from "../domain/errors";
import { pageSize, type Page } from "./pagination";
import type { SessionService } from "./session.service";
import { signedInUser } from "./actor";
import { authorizeAccount, canReadClassroom, requireClassroomManager } from "../auth/account-policy";

const MAX_NAME = 200;
const HOUR = 3_600_000;

/**
 * Classrooms: a tutor's class and its members. Members (and the tutor) reach the
 * classroom's sessions (RULES.md "Who has access"); only the tutor (or an admin) manages
 * it. Every decision goes through AccessPolicy.
 */
export class ClassroomService {
  constructor(
    private readonly db: DataSource,
    private readonly access: AccessPolicy,
    private readonly sessions: SessionService,
    private readonly limiter: RateLimiter,
    private readonly limits: Pick<Config["rateLimits"], "classroomsPerUserPerHour"> & Pick<Config["limits"], "maxPageSize">,
  ) {}

  /**
   * A tutor (or admin) creates a classroom they tutor; FORBIDDEN for students, name 1..200
   * characters, CLASSROOM_RATE_PER_USER an hour (RATE_LIMITED).
   */
  async create(auth: AuthContext, name: string): Promise<ClassroomEntity> {
    const actor = await signedInUser(this.db.manager, auth.requireUserId());
    authorizeAccount(actor, "createClassroom");
    const trimmed = name.trim();
    if (trimmed.length < 1 || trimmed.length > MAX_NAME) {
      throw invalidInput(`Classroom name must be 1 to ${MAX_NAME} characters.`, { field: "name" });
    }
    const limit = await this.limiter.hit(`create-classroom:${actor.id}`, this.limits.classroomsPerUserPerHour, HOUR);
    if (!limit.allowed) throw rateLimited(limit.retryAfterMs);
    const repo = this.db.getRepository(ClassroomEntity);
    return repo.save(repo.create({ name: trimmed, tutorId: actor.id }));
  }

  /**
   * The classroom's tutor (or an admin) adds a user as a member; adding a member again, or
   * the tutor, changes nothing. NOT_FOUND without access to the classroom, FORBIDDEN for a
   * member, BAD_USER_INPUT for an unknown user.
   */
  async addMember(auth: AuthContext, classroomId: string, userId: string): Promise<ClassroomEntity> {
    const actorId = auth.requireUserId();
    requireClassroomManager(await this.access.classroomRole(actorId, classroomId), "add members");
    const classroom = await this.db.getRepository(ClassroomEntity).findOneByOrFail({ id: classroomId });
    const user = isUuid(userId) ? await this.db.getRepository(UserEntity).findOneBy({ id: userId }) : null;
    if (!user) throw invalidInput("No user has this id.", { field: "userId" });
    if (user.id !== classroom.tutorId) {
      // ON CONFLICT DO NOTHING: idempotent, also when the same member is added twice at once.
      await this.db.createQueryBuilder().insert().into(ClassroomMemberEntity).values({ classroomId, userId }).orIgnore().execute();
    }
    return classroom;
  }

  /** The classroom if the user may read it (tutor, member, admin), else null (existence never leaks). */
  async get(auth: AuthContext, id: string): Promise<ClassroomEntity | null> {
    const actorId = auth.requireUserId();
    if (!canReadClassroom(await this.access.classroomRole(actorId, id))) return null;
    return this.db.getRepository(ClassroomEntity).findOneBy({ id });
  }

  /** The classrooms the user tutors or is a member of, oldest first. */
  async mine(auth: AuthContext): Promise<ClassroomEntity[]> {
    const actorId = auth.requireUserId();
    return this.db
      .getRepository(ClassroomEntity)
      .createQueryBuilder("c")
      .where("c.tutor_id = :actorId", { actorId })
      .orWhere("EXISTS (SELECT 1 FROM classroom_members m WHERE m.classroom_id = c.id AND m.user_id = :actorId)", { actorId })
      .orderBy("c.created_at", "ASC")
      .addOrderBy("c.id", "ASC")
      .getMany();
  }

  /**
   * The classroom's sessions, newest first, as a keyset page (page size over 100:
   * BAD_USER_INPUT). Empty for a user who cannot read the classroom; otherwise each session
   * follows the session rules (a member kicked from one does not see it).
   */
  async sessionsOf(auth: AuthContext, classroom: ClassroomEntity, first?: number | null, after?: string | null): Promise<Page<SessionEntity>> {
    const actorId = auth.requireUserId();
    pageSize(first, this.limits.maxPageSize); // BAD_USER_INPUT over MAX_PAGE_SIZE whoever asks
    // Re-checked here because a Classroom can be reached through fields that do not check it.
    if (!canReadClassroom(await this.access.classroomRole(actorId, classroom.id))) {
      return { nodes: [], hasNextPage: false, hasPreviousPage: false, totalCount: 0 };
    }
    return this.sessions.list(auth, { classroomId: classroom.id }, first, after);
  }

  /** Classrooms by id that `viewerId` may read, in the order asked (undefined otherwise); the loaders' batch. */
  async readableByIds(viewerId: string, ids: readonly string[]): Promise<Array<ClassroomEntity | undefined>> {
    const readable = await this.access.readableClassroomIds(viewerId, ids);
    const rows = readable.size ? await this.db.getRepository(ClassroomEntity).findBy({ id: In([...readable]) }) : [];
    const byId = new Map(rows.map((c) => [c.id, c]));
    return ids.map((id) => byId.get(id));
  }

  /** Members of many classrooms at once, in the order they were added (the loaders' batch). */
  async membersOf(classroomIds: readonly string[]): Promise<UserEntity[][]> {
    const ids = classroomIds.filter(isUuid);
    const rows = ids.length
      ? await this.db.getRepository(ClassroomMemberEntity).find({ where: { classroomId: In(ids) }, order: { addedAt: "ASC", userId: "ASC" } })
      : [];
    const users = rows.length ? await this.db.getRepository(UserEntity).findBy({ id: In([...new Set(rows.map((r) => r.userId))]) }) : [];
    const userById = new Map(users.map((u) => [u.id, u]));
    return classroomIds.map((id) => rows.filter((r) => r.classroomId === id).flatMap((r) => (userById.has(r.userId) ? [userById.get(r.userId)!] : [])));
  }
}
