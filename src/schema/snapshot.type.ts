import { Field, ID, Int, ObjectType, registerEnumType } from "type-graphql";
import { SnapshotType } from "../entities/board-snapshot.entity";
import { EDGE_CURSOR, TOTAL_COUNT } from "./descriptions";
import { PageInfo } from "./page.type";
import { DateTimeScalar, SafeIntScalar } from "./scalars";

export { SnapshotType };
registerEnumType(SnapshotType, {
  name: "SnapshotType",
  description: "Why a snapshot was taken.",
  valuesConfig: {
    AUTO: {
      description:
        "By the server: a keyframe every SNAPSHOT_EVERY_EVENTS (500) board versions, or autosave when a change is AUTOSAVE_AFTER_MS (10 s) old without a snapshot.",
    },
    JOIN: { description: "Someone joined, and the board had changed since the last snapshot." },
    LEAVE: { description: "Someone left, and the board had changed since the last snapshot." },
    TERMINATE: { description: "The session was completed or terminated (if it has a board)." },
    MANUAL: { description: "saveBoard, or createSoloSnapshot." },
    RESTORE: { description: "The board restoreSnapshot set." },
  },
});

export enum ImportMode {
  REPLACE = "REPLACE",
  MERGE_KEEP_SERVER = "MERGE_KEEP_SERVER",
  MERGE_KEEP_CLIENT = "MERGE_KEEP_CLIENT",
}
registerEnumType(ImportMode, {
  name: "ImportMode",
  description: "How importBoard brings a board in.",
  valuesConfig: {
    REPLACE: { description: "The imported board replaces the current one." },
    MERGE_KEEP_SERVER: { description: "Objects and layers are added; on an id clash the current one stays." },
    MERGE_KEEP_CLIENT: { description: "Objects and layers are added; on an id clash the imported one wins." },
  },
});

/** Resolved from BoardSnapshotEntity; createdBy, board and thumbnailSvg are field resolvers. */
@ObjectType({ description: "A stored board of a session at one moment: keyframes, captures on joins, leaves and ends, saves and restores." })
export class BoardSnapshot {
  @Field(() => ID, { description: "The snapshot's id." }) id: string;
  @Field(() => Int, { description: "The snapshot's number within its session: 1, 2, 3 …" }) version: number;
  @Field(() => Int, { description: "The board version it captured." }) boardVersion: number;
  @Field(() => SnapshotType, { description: "Why it was taken." }) type: SnapshotType;
  @Field(() => SafeIntScalar, { description: "timestampMs of the timeline event the board reflects (ms since the session's actual start)." })
  timestampMs: number;
  @Field(() => Int, { description: "Participants holding a seat when it was taken." }) participantCount: number;
  @Field(() => SafeIntScalar, { description: "UTF-8 bytes of the board's JSON text (what a solo snapshot counts against the quota)." }) sizeBytes: number;
  @Field(() => DateTimeScalar, { description: "When it was stored." }) createdAt: Date;
}

@ObjectType({ description: "One snapshot of a SnapshotConnection page." })
export class SnapshotEdge {
  @Field({ description: EDGE_CURSOR }) cursor: string;
  @Field(() => BoardSnapshot, { description: "The snapshot." }) node: BoardSnapshot;
}

@ObjectType({ description: "A page of a session's snapshots, oldest first." })
export class SnapshotConnection {
  @Field(() => [SnapshotEdge], { description: "The snapshots of this page." }) edges: SnapshotEdge[];
  @Field(() => PageInfo, { description: "Where this page is in the list." }) pageInfo: PageInfo;
  @Field(() => Int, { description: TOTAL_COUNT }) totalCount: number;
}

@ObjectType({ description: "What a replay player needs to start." })
export class ReplayManifest {
  @Field({
    description: "Whether you may replay the session (it isRecorded, or you host it, or you are an admin); when false, the other fields are zero or empty.",
  })
  canReplay: boolean;
  @Field(() => SafeIntScalar, {
    description: "Milliseconds from the actual start to the last event, or to the actual end of a finished session if that is later.",
  })
  durationMs: number;
  @Field(() => Int, { description: "Every timeline event of the session, of any type." }) eventCount: number;
  @Field(() => Int, { description: "Stored board snapshots." }) snapshotCount: number;
  @Field(() => [SafeIntScalar], { description: "Snapshot positions to seek between." }) keyframesMs: number[];
}

@ObjectType({ description: "Your solo snapshots' storage under the quota." })
export class StorageUsage {
  @Field(() => SafeIntScalar, { description: "Bytes of the stored snapshots' JSON text (UTF-8)." }) usedBytes: number;
  @Field(() => SafeIntScalar, { description: "The quota: SOLO_QUOTA_BYTES (50 MiB by default)." }) quotaBytes: number;
  @Field(() => SafeIntScalar, { description: "quotaBytes minus usedBytes, never below 0." }) remainingBytes: number;
}
