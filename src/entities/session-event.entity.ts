import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn } from "typeorm";
import { bigintAsNumber } from "./session.entity";

/** One timeline event: seq is gap-free per session, timestamp_ms counts from the actual start. */
@Entity({ name: "session_events" })
export class SessionEventEntity {
  @PrimaryGeneratedColumn("uuid")
  id: string;

  @Column({ name: "session_id", type: "uuid" })
  sessionId: string;

  @Column({ type: "integer" })
  seq: number;

  @Column({ name: "timestamp_ms", type: "bigint", transformer: bigintAsNumber })
  timestampMs: number;

  @Column({ type: "varchar", length: 32 })
  type: string;

  @Column({ name: "user_id", type: "uuid", nullable: true })
  userId: string | null;

  @Column({ type: "jsonb", default: {} })
  data: Record<string, unknown>;

  /** Board events: the client's op id (unique per session and user). */
  @Column({ name: "client_op_id", type: "varchar", length: 64, nullable: true })
  clientOpId: string | null;

  /** Board events: the board version this event produced (contiguous per session). */
  @Column({ name: "board_version", type: "integer", nullable: true })
  boardVersion: number | null;

  @CreateDateColumn({ name: "created_at", type: "timestamptz" })
  createdAt: Date;
}
