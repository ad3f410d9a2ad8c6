import { UserRole, type UserEntity } from "../entities/user.entity";

/**
 * The one place where access is decided. Every check denies by default; callers that must
 * not reveal whether something exists answer "not found" when a check fails.
 */
export const access = {
  /** User.email: the user themself and admins (tutors of their classrooms come with classrooms). */
  canSeeEmail(viewer: Pick<UserEntity, "id" | "role"> | undefined, subject: Pick<UserEntity, "id">): boolean {
    if (!viewer) return false;
    return viewer.id === subject.id || viewer.role === UserRole.ADMIN;
  },
};
