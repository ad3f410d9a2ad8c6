import type { DataSource } from "typeorm";
import type { AuthContext } from "../auth/auth-context";
import { SEATED } from "../entities/participant.entity";
import { DomainError } from "../domain/errors";
import { eraseAccount, requireNoLiveLesson } from "./account-erasure";
import type { SeatService } from "./seat.service";
import type { UserService } from "./user.service";

/** The end of an account (deleteAccount, issue 18): what it takes across users, seats and tokens. */
export class AccountService {
  constructor(
    private readonly db: DataSource,
    private readonly users: UserService,
    private readonly seats: SeatService,
  ) {}

  /**
   * Erases the signed-in user's account (src/services/account-erasure.ts says what goes and
   * what stays): the password required (UNAUTHENTICATED, limited like changePassword),
   * INVALID_STATE while a lesson they host has not ended, and then nothing changes. Seats the
   * user holds in lessons going on are left first (PARTICIPANT_LEAVE on their timelines,
   * the seat freed); then one transaction erases; then every token of theirs is refused on
   * every instance and their open sockets close with 4401.
   */
  async deleteAccount(auth: AuthContext, password: string): Promise<boolean> {
    const user = await this.users.me(auth);
    await this.users.requirePassword(user, password, "delete-account");
    await requireNoLiveLesson(this.db.manager, user.id);
    const seated = (await this.db.query(
      `SELECT p.session_id FROM session_participants p JOIN classroom_sessions s ON s.id = p.session_id
        WHERE p.user_id = $1 AND p.status = ANY($2::text[]) AND s.status IN ('SCHEDULED', 'WAITING', 'ACTIVE', 'PAUSED')`,
      [user.id, [...SEATED]],
    )) as Array<{ session_id: string }>;
    for (const { session_id: sessionId } of seated) {
      // Left meanwhile (or kicked): nothing more to free.
      await this.seats.leave(auth, sessionId).catch((err: unknown) => {
        if (!(err instanceof DomainError)) throw err;
      });
    }
    // The same clock as the tokens' issue times (changePassword does the same).
    const validAfter = new Date();
    await this.db.transaction((tx) => eraseAccount(tx, user.id, validAfter));
    await this.users.revokeTokensBefore(user.id, validAfter);
    return true;
  }
}
