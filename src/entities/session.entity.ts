import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn, UpdateDateColumn } from "typeorm";

export enum SessionType {
  LESSON = "LESSON",
  SOLO = "SOLO",
  GROUP = "GROUP",
  DEMO = "DEMO",
}

export enum SessionStatus {
  SCHEDULED = "SCHEDULED",
  WAITING = "WAITING",
  ACTIVE = "ACTIVE",
  PAUSED = "PAUSED",
  COMPLETED = "COMPLETED",
  TERMINATED = "TERMINATED",
  EXPIRED = "EXPIRED",
}

/** bigint columns arrive as strings from pg; the timeline's clock fits a JS number. */
const bigintAsNumber = { to: (v: number) => v, from: (v: string | number) => Number(v) };

/** A classroom session (lesson). Its timeline clock (last_seq, last_event_ms) moves under its row lock. */
@Entity({ name: "classroom_sessions" })
export class SessionEntity {
  @PrimaryGeneratedColumn("uuid")
  id: string;

  @Column({ type: "varchar", length: 200, nullable: true })
  title: string | null;

  @Column({ type: "varchar", length: 16 })
  type: SessionType;

  @Column({ type: "varchar", length: 16 })
  status: SessionStatus;

  @Column({ name: "host_id", type: "uuid" })
  hostId: string;

  @Column({ name: "classroom_id", type: "uuid", nullable: true })
  classroomId: string | null;

  @Column({ name: "booking_id", type: "uuid", nullable: true })
  bookingId: string | null;

  @Column({ name: "scheduled_start", type: "timestamptz", nullable: true })
  scheduledStart: Date | null;

  @Column({ name: "scheduled_end", type: "timestamptz", nullable: true })
  scheduledEnd: Date | null;

  @Column({ name: "actual_start", type: "timestamptz", nullable: true })
  actualStart: Date | null;

  @Column({ name: "actual_end", type: "timestamptz", nullable: true })
  actualEnd: Date | null;

  @Column({ name: "active_seconds", type: "integer", default: 0 })
  activeSeconds: number;

  @Column({ name: "active_since", type: "timestamptz", nullable: true })
  activeSince: Date | null;

  @Column({ name: "access_code", type: "varchar", length: 16, nullable: true })
  accessCode: string | null;

  @Column({ name: "max_participants", type: "integer", default: 10 })
  maxParticipants: number;

  @Column({ name: "is_recorded", type: "boolean", default: true })
  isRecorded: boolean;

  @Column({ type: "jsonb", default: {} })
  settings: Record<string, unknown>;

  @Column({ name: "last_seq", type: "integer", default: 0 })
  lastSeq: number;

  @Column({ name: "last_event_ms", type: "bigint", default: 0, transformer: bigintAsNumber })
  lastEventMs: number;

  @Column({ name: "board_version", type: "integer", default: 0 })
  boardVersion: number;

  @CreateDateColumn({ name: "created_at", type: "timestamptz" })
  createdAt: Date;

  @UpdateDateColumn({ name: "updated_at", type: "timestamptz" })
  updatedAt: Date;
}

export { bigintAsNumber };
