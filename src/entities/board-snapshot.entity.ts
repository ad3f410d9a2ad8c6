import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn } from "typeorm";
import { bigintAsNumber } from "./session.entity";

export enum SnapshotType {
  AUTO = "AUTO",
  JOIN = "JOIN",
  LEAVE = "LEAVE",
  TERMINATE = "TERMINATE",
  MANUAL = "MANUAL",
  RESTORE = "RESTORE",
}

/** A stored board: the board at `boardVersion`, as of timeline event `seq` (H2). */
@Entity({ name: "board_snapshots" })
export class BoardSnapshotEntity {
  @PrimaryGeneratedColumn("uuid")
  id: string;

  @Column({ name: "session_id", type: "uuid" })
  sessionId: string;

  /** Its number within the session: 1, 2, 3 … */
  @Column({ type: "integer" })
  version: number;

  @Column({ name: "board_version", type: "integer" })
  boardVersion: number;

  /** The last timeline seq the board reflects. */
  @Column({ type: "integer" })
  seq: number;

  @Column({ name: "timestamp_ms", type: "bigint", transformer: bigintAsNumber })
  timestampMs: number;

  @Column({ type: "varchar", length: 16 })
  type: SnapshotType;

  /** Taken on the write path at a multiple of SNAPSHOT_EVERY_EVENTS: bounds seeks, never thinned. */
  @Column({ type: "boolean", default: false })
  keyframe: boolean;

  @Column({ name: "created_by", type: "uuid", nullable: true })
  createdBy: string | null;

  @Column({ name: "participant_count", type: "integer", default: 0 })
  participantCount: number;

  @Column({ name: "size_bytes", type: "integer" })
  sizeBytes: number;

  /** The user whose storage quota counts this snapshot (solo snapshots), else null. */
  @Column({ name: "quota_owner_id", type: "uuid", nullable: true })
  quotaOwnerId: string | null;

  /** The engine's BoardState as JSON text; never selected by lists (see SnapshotService). */
  @Column({ type: "text", select: false })
  board: string;

  @CreateDateColumn({ name: "created_at", type: "timestamptz" })
  createdAt: Date;
}
