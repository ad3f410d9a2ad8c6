import { Column, CreateDateColumn, Entity, PrimaryColumn, PrimaryGeneratedColumn } from "typeorm";

/** A tutor's class: its members may reach the classroom's sessions. */
@Entity({ name: "classrooms" })
export class ClassroomEntity {
  @PrimaryGeneratedColumn("uuid")
  id: string;

  @Column({ type: "varchar", length: 200 })
  name: string;

  @Column({ name: "tutor_id", type: "uuid" })
  tutorId: string;

  @CreateDateColumn({ name: "created_at", type: "timestamptz" })
  createdAt: Date;
}

@Entity({ name: "classroom_members" })
export class ClassroomMemberEntity {
  @PrimaryColumn({ name: "classroom_id", type: "uuid" })
  classroomId: string;

  @PrimaryColumn({ name: "user_id", type: "uuid" })
  userId: string;

  @CreateDateColumn({ name: "added_at", type: "timestamptz" })
  addedAt: Date;
}
