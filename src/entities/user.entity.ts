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

  /** Stored trimmed and lower-cased; unique. Null once the account is erased (deleteAccount). */
  @Column({ type: "varchar", length: 254, nullable: true })
  email: string | null;

  /** Null once the account is erased. */
  @Column({ name: "password_hash", type: "varchar", length: 255, nullable: true })
  passwordHash: string | null;

  @Column({ name: "display_name", type: "varchar", length: 100 })
  displayName: string;

  @Column({ type: "varchar", length: 16 })
  role: UserRole;

  /** Tokens of this user issued before it are refused (set by changePassword). */
  @Column({ name: "tokens_valid_after", type: "timestamptz", nullable: true })
  tokensValidAfter: Date | null;

  /** When the account was erased (deleteAccount): the row stays so lessons' history stays whole. */
  @Column({ name: "deleted_at", type: "timestamptz", nullable: true })
  deletedAt: Date | null;

  @CreateDateColumn({ name: "created_at", type: "timestamptz" })
  createdAt: Date;
}
