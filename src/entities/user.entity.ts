import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn } from "typeorm";

/** Account roles; the API exposes the same values as the UserRole enum. */
export enum UserRole {
  TUTOR = "TUTOR",
  STUDENT = "STUDENT",
  ADMIN = "ADMIN",
}

/** A person who signs in. Persistence only: the API's User type lives in src/schema. */
@Entity({ name: "users" })
export class UserEntity {
  @PrimaryGeneratedColumn("uuid")
  id: string;

  /** Stored trimmed and lower-cased; unique. */
  @Column({ type: "varchar", length: 254 })
  email: string;

  @Column({ name: "password_hash", type: "varchar", length: 255 })
  passwordHash: string;

  @Column({ name: "display_name", type: "varchar", length: 100 })
  displayName: string;

  @Column({ type: "varchar", length: 16 })
  role: UserRole;

  /** Tokens of this user issued before it are refused (set by changePassword). */
  @Column({ name: "tokens_valid_after", type: "timestamptz", nullable: true })
  tokensValidAfter: Date | null;

  @CreateDateColumn({ name: "created_at", type: "timestamptz" })
  createdAt: Date;
}
