import { In, type DataSource } from "typeorm";
import { isUuid, type AccessPolicy } from "../auth/access";
import { queryPrepared } from "../db/prepared";
import { entityFromRow, selectColumns } from "../db/raw-rows";
import { ParticipantEntity } from "../entities/participant.entity";
import { SessionEntity } from "../entities/session.entity";
import { UserEntity } from "../entities/user.entity";

/**
 * The batch reads behind the request's DataLoaders (resolvers/context.ts): many sessions or
 * participants in one statement, answered in the order asked.
 */
export class SessionBatches {
  constructor(
    private readonly db: DataSource,
    private readonly access: AccessPolicy,
  ) {}

  /** Sessions by id that `viewerId` may read, in the order asked (undefined otherwise); the loaders' batch. */
  async readableByIds(viewerId: string, ids: readonly string[]): Promise<Array<SessionEntity | undefined>> {
    const readable = await this.access.readableSessionIds(viewerId, ids);
    const rows = readable.size ? await this.db.getRepository(SessionEntity).findBy({ id: In([...readable]) }) : [];
    const byId = new Map(rows.map((s) => [s.id, s]));
    return ids.map((id) => byId.get(id));
  }

  /** Participants of many sessions at once (the loaders' batch), in joining order, and their users. */
  async participantsOf(sessionIds: readonly string[]): Promise<{ participants: ParticipantEntity[][]; users: UserEntity[] }> {
    const ids = sessionIds.filter(isUuid);
    const manager = this.db.manager;
    // Their users in the same statement (a participant list is nearly always shown with names),
    // as far as the API shows a user: never their password hash.
    const rows = ids.length
      ? await queryPrepared(
          this.db,
          `SELECT ${selectColumns(manager, ParticipantEntity, "p", "p_")},
                  u.id AS u_id, u.email AS u_email, u.display_name AS u_display_name, u.role AS u_role, u.created_at AS u_created_at
             FROM session_participants p JOIN users u ON u.id = p.user_id
            WHERE p.session_id = ANY($1::uuid[])
            ORDER BY p.created_at, p.id`,
          [ids],
        )
      : [];
    const participants = rows.map((row) => entityFromRow(manager, ParticipantEntity, row, "p_"));
    const users = new Map(rows.map((row) => [row.u_id as string, row]));
    return {
      participants: sessionIds.map((id) => participants.filter((p) => p.sessionId === id)),
      users: [...users.values()].map((row) => entityFromRow(manager, UserEntity, row, "u_")),
    };
  }

  /** Participants by id, in the order asked (undefined for unknown ids). */
  async participantsByIds(ids: readonly string[]): Promise<Array<ParticipantEntity | undefined>> {
    const rows = ids.length ? await this.db.getRepository(ParticipantEntity).findBy({ id: In([...ids]) }) : [];
    const byId = new Map(rows.map((p) => [p.id, p]));
    return ids.map((id) => byId.get(id));
  }
}
