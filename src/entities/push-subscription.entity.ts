import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn, UpdateDateColumn } from "typeorm";

/** A user's web push subscription on one browser or device (W5); unique per (user, endpoint). */
@Entity({ name: "push_subscriptions" })
export class PushSubscriptionEntity {
  @PrimaryGeneratedColumn("uuid")
  id: string;

  @Column({ name: "user_id", type: "uuid" })
  userId: string;

  @Column({ name: "device_id", type: "varchar", length: 200, nullable: true })
  deviceId: string | null;

  /** The push service's https URL (a capability: never shown to anyone but its owner). */
  @Column({ type: "varchar", length: 2048 })
  endpoint: string;

  /** The browser's P-256 public key and auth secret (base64url) the payload is encrypted to. */
  @Column({ type: "varchar", length: 200 })
  p256dh: string;

  @Column({ type: "varchar", length: 100 })
  auth: string;

  @Column({ name: "expires_at", type: "timestamptz", nullable: true })
  expiresAt: Date | null;

  /** Failed deliveries since the last successful one. */
  @Column({ name: "failure_count", type: "integer", default: 0 })
  failureCount: number;

  @CreateDateColumn({ name: "created_at", type: "timestamptz" })
  createdAt: Date;

  @UpdateDateColumn({ name: "updated_at", type: "timestamptz" })
  updatedAt: Date;
}
