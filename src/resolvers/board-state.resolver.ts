import { Arg, FieldResolver, ID, Int, Resolver, Root } from "type-graphql";
import { publicObjects, type PublicBoard } from "../board";
import { BoardState } from "../schema/board.type";
import { JSONScalar } from "../schema/scalars";
import type { BoardAt } from "../services/replay.service";

/**
 * A BoardState as the resolvers answer it: a public board, or (replayBoardAt) a board replayed
 * on first use, so that a client asking for the version, the object count or a few objects
 * never pays for the whole board.
 */
export type BoardStateSource = (PublicBoard & { lastSeq: number }) | { version: number; lastSeq: number; replayed: BoardAt };

@Resolver(() => BoardState)
export class BoardStateResolver {
  @FieldResolver(() => JSONScalar, { description: "Layers in drawing order, bottom first: `[{ id, name }, …]`." })
  async layers(@Root() board: BoardStateSource): Promise<unknown> {
    return "replayed" in board ? board.replayed.layers() : board.layers;
  }

  @FieldResolver(() => JSONScalar, {
    description:
      "Objects keyed by id, in id order: all of them, or those of `ids` that exist. Each is `{ id, kind, layerId, props, createdBy, version, z }` (version: the board version of its last change; z: its drawing order in its layer).",
  })
  async objects(
    @Root() board: BoardStateSource,
    @Arg("ids", () => [ID], { nullable: true, description: "Only these objects." }) ids?: string[] | null,
  ): Promise<unknown> {
    if ("replayed" in board) return ids ? board.replayed.objects(ids) : (await board.replayed.board()).objects;
    return ids ? publicObjects(board.objects, ids) : board.objects;
  }

  @FieldResolver(() => Int, { description: "How many objects the board holds." })
  async objectCount(@Root() board: BoardStateSource): Promise<number> {
    return "replayed" in board ? board.replayed.objectCount() : board.objectCount;
  }
}
