import type { EntityManager } from "typeorm";
import { UserEntity } from "../entities/user.entity";
import { unauthenticated } from "../domain/errors";

/**
 * The signed-in user's row, read through `manager`; UNAUTHENTICATED when the account no
 * longer exists or was erased (a token may outlive the account it was signed for).
 */
export async function signedInUser(manager: EntityManager, userId: string): Promise<UserEntity> {
  const user = await manager.findOneBy(UserEntity, { id: userId });
  if (!user || user.deletedAt) throw unauthenticated("Your account no longer exists.");
  return user;
}
