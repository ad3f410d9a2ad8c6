import { Column, Entity, PrimaryGeneratedColumn } from "typeorm";

/**
 * One event a client sent to the telemetry ingest (W3). `event` is the event as sent; the
 * other columns are copied out of it when present (see TelemetryService). Written in batches
 * by TelemetryWriter, read by admins, deleted after TELEMETRY_RETENTION_DAYS.
 */
@Entity({ name: "telemetry_events" })
export class TelemetryEventEntity {
  @PrimaryGeneratedColumn("uuid")
  id: string;

  /** When the server accepted it, at millisecond precision (the pagination cursor's). */
  @Column({ name: "received_at", type: "timestamptz" })
  receivedAt: Date;

  /** The sender, when the request carried a valid access token; null for anonymous events. */
  @Column({ name: "user_id", type: "uuid", nullable: true })
  userId: string | null;

  /** The event's `type` (or `name`), at most 100 characters. */
  @Column({ type: "varchar", length: 100, nullable: true })
  type: string | null;

  @Column({ type: "varchar", length: 32, nullable: true })
  level: string | null;

  /** The event's own `timestamp` (the client's clock), when it is a time. */
  @Column({ name: "client_timestamp", type: "timestamptz", nullable: true })
  clientTimestamp: Date | null;

  @Column({ type: "varchar", length: 50, nullable: true })
  platform: string | null;

  @Column({ name: "app_version", type: "varchar", length: 50, nullable: true })
  appVersion: string | null;

  /** The event's `session_id` (or `sessionId`) when it is a UUID; not checked against any session. */
  @Column({ name: "session_id", type: "uuid", nullable: true })
  sessionId: string | null;

  @Column({ type: "jsonb" })
  event: Record<string, unknown>;
}
