import type { GraphQLResolveInfo } from "graphql";
import type { UserEntity } from "../entities/user.entity";
import type { RequestContext } from "./context";
import { selectedFieldNames } from "./selection";

const idOnly = new WeakMap<object, boolean>();

/** Whether the field's selection reads nothing of the object but its id (and __typename). */
function selectsIdOnly(info: GraphQLResolveInfo): boolean {
  let known = idOnly.get(info.fieldNodes[0]);
  if (known === undefined) {
    const names = selectedFieldNames(info);
    known = names !== undefined && [...names].every((name) => name === "id" || name === "__typename");
    idOnly.set(info.fieldNodes[0], known);
  }
  return known;
}

/**
 * The user `id` refers to, as a field resolver answers it: without a read when the client
 * asks for nothing but the id (a live frame's `user { id }` costs no statement).
 */
export async function userRef(ctx: RequestContext, info: GraphQLResolveInfo, id: string): Promise<UserEntity | undefined> {
  if (selectsIdOnly(info)) return { id } as UserEntity;
  return ctx.loaders.userById.load(id);
}
