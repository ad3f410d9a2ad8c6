import { Field, Float, Int, ObjectType } from "type-graphql";

/** `user` is a field resolver over userId (TeachingStatsResolver). */
@ObjectType({ description: "One student's attendance across the tutor's lessons in the period." })
export class StudentStats {
  userId: string;
  @Field(() => Int, { description: "The period's lessons they were a participant of (invited, joined or booked)." }) lessonsInvited: number;
  @Field(() => Int, { description: "Of those, the lessons they joined at least once." }) lessonsAttended: number;
  @Field(() => Float, { description: "lessonsAttended / lessonsInvited, 0 when invited to none." }) attendanceRate: number;
  @Field(() => Int, { description: "Whole minutes spent CONNECTED in those lessons." }) minutesConnected: number;
  @Field(() => Int, { description: "Their accepted board operations in those lessons." }) boardEventCount: number;
  @Field(() => Int, { description: "Their chat messages in those lessons." }) chatMessageCount: number;
}

@ObjectType({ description: "The viewer's lessons as host in [from, to) (actual start), COMPLETED or TERMINATED." })
export class TeachingStats {
  @Field(() => Int, { description: "How many lessons." }) lessons: number;
  @Field(() => Int, { description: "Whole minutes of ACTIVE time over all of them (pauses excluded)." }) totalMinutes: number;
  @Field(() => Float, { description: "Students (the host not counted) who joined, on average per lesson; 0 without lessons." })
  averageParticipants: number;
  @Field(() => [StudentStats], { description: "Every student of those lessons, ordered by user id." }) students: StudentStats[];
}
