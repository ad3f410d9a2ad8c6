import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn, UpdateDateColumn } from "typeorm";

export enum BookingStatus {
  PENDING = "PENDING",
  CONFIRMED = "CONFIRMED",
  CANCELLED = "CANCELLED",
}

/** A lesson a tutor booked for a student; confirming it creates the lesson session. */
@Entity({ name: "bookings" })
export class BookingEntity {
  @PrimaryGeneratedColumn("uuid")
  id: string;

  @Column({ name: "tutor_id", type: "uuid" })
  tutorId: string;

  @Column({ name: "student_id", type: "uuid" })
  studentId: string;

  @Column({ name: "classroom_id", type: "uuid", nullable: true })
  classroomId: string | null;

  @Column({ name: "scheduled_start", type: "timestamptz" })
  scheduledStart: Date;

  @Column({ name: "scheduled_end", type: "timestamptz" })
  scheduledEnd: Date;

  @Column({ type: "varchar", length: 16 })
  status: BookingStatus;

  @Column({ name: "session_id", type: "uuid", nullable: true })
  sessionId: string | null;

  @CreateDateColumn({ name: "created_at", type: "timestamptz" })
  createdAt: Date;

  @UpdateDateColumn({ name: "updated_at", type: "timestamptz" })
  updatedAt: Date;
}
