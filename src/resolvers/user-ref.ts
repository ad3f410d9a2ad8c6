import { Kind, type GraphQLResolveInfo } from "graphql";
import type { UserEntity } from "../entities/user.entity";
import type { RequestContext } from "./context";

const idOnly = new WeakMap<object, boolean>();

/** Whether the field's selection reads nothing of the object but its id (and __typename). */
function selectsIdOnly(info: GraphQLResolveInfo): boolean {
  const node = info.fieldNodes[0];
  let known = idOnly.get(node);
  if (known === undefined) {
    known =
      info.fieldNodes.length === 1 &&
      (node.selectionSet?.selections ?? []).every(
        (selection) => selection.kind === Kind.FIELD && (selection.name.value === "id" || selection.name.value === "__typename"),
      );
    idOnly.set(node, known);
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
