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

  @CreateDateColumn({ name: "created_at", type: "timestamptz" })
  createdAt: Date;
}
