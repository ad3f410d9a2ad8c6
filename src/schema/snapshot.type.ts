import { Field, ID, Int, ObjectType, registerEnumType } from "type-graphql";
import { SnapshotType } from "../entities/board-snapshot.entity";
import { PageInfo } from "./page.type";
import { DateTimeScalar, SafeIntScalar } from "./scalars";

export { SnapshotType };
registerEnumType(SnapshotType, { name: "SnapshotType" });

export enum ImportMode {
  REPLACE = "REPLACE",
  MERGE_KEEP_SERVER = "MERGE_KEEP_SERVER",
  MERGE_KEEP_CLIENT = "MERGE_KEEP_CLIENT",
}
registerEnumType(ImportMode, {
  name: "ImportMode",
  valuesConfig: {
    REPLACE: { description: "The imported board replaces the current one." },
    MERGE_KEEP_SERVER: { description: "Objects and layers are added; on an id clash the current one stays." },
    MERGE_KEEP_CLIENT: { description: "Objects and layers are added; on an id clash the imported one wins." },
  },
});

/** Resolved from BoardSnapshotEntity; createdBy, board and thumbnailSvg are field resolvers. */
@ObjectType()
export class BoardSnapshot {
  @Field(() => ID) id: string;
  @Field(() => Int, { description: "The snapshot's number within its session: 1, 2, 3 …" }) version: number;
  @Field(() => Int, { description: "The board version it captured." }) boardVersion: number;
  @Field(() => SnapshotType) type: SnapshotType;
  @Field(() => SafeIntScalar) timestampMs: number;
  @Field(() => Int) participantCount: number;
  @Field(() => SafeIntScalar) sizeBytes: number;
  @Field(() => DateTimeScalar) createdAt: Date;
}

@ObjectType()
export class SnapshotEdge {
  @Field() cursor: string;
  @Field(() => BoardSnapshot) node: BoardSnapshot;
}

@ObjectType()
export class SnapshotConnection {
  @Field(() => [SnapshotEdge]) edges: SnapshotEdge[];
  @Field(() => PageInfo) pageInfo: PageInfo;
  @Field(() => Int) totalCount: number;
}

@ObjectType()
export class ReplayManifest {
  @Field() canReplay: boolean;
  @Field(() => SafeIntScalar) durationMs: number;
  @Field(() => Int, { description: "Every timeline event of the session, of any type." }) eventCount: number;
  @Field(() => Int) snapshotCount: number;
  @Field(() => [SafeIntScalar], { description: "Snapshot positions to seek between." }) keyframesMs: number[];
}

@ObjectType()
export class StorageUsage {
  @Field(() => SafeIntScalar, { description: "Bytes of the stored snapshots' JSON text (UTF-8)." }) usedBytes: number;
  @Field(() => SafeIntScalar) quotaBytes: number;
  @Field(() => SafeIntScalar) remainingBytes: number;
}
