import { Field, ID, InputType, Int, ObjectType, registerEnumType } from "type-graphql";
import { BookingStatus } from "../entities/booking.entity";
import { PageInfo } from "./page.type";
import { DateTimeScalar } from "./scalars";

registerEnumType(BookingStatus, { name: "BookingStatus" });

/**
 * A lesson a tutor booked for a student. Resolved from BookingEntity: plain columns map by
 * name; tutor, student, classroom and session are field resolvers (BookingResolver).
 */
@ObjectType("Booking")
export class Booking {
  @Field(() => ID)
  id: string;

  @Field(() => DateTimeScalar)
  scheduledStart: Date;

  @Field(() => DateTimeScalar)
  scheduledEnd: Date;

  @Field(() => BookingStatus)
  status: BookingStatus;

  @Field(() => DateTimeScalar, { description: "When the booking was made." })
  createdAt: Date;
}

@ObjectType()
export class BookingEdge {
  @Field()
  cursor: string;

  @Field(() => Booking)
  node: Booking;
}

@ObjectType()
export class BookingConnection {
  @Field(() => [BookingEdge])
  edges: BookingEdge[];

  @Field(() => PageInfo)
  pageInfo: PageInfo;

  @Field(() => Int)
  totalCount: number;
}

@InputType()
export class CreateBookingInput {
  @Field(() => ID)
  studentId: string;

  @Field(() => ID, { nullable: true, description: "One of the tutor's own classrooms." })
  classroomId?: string;

  @Field(() => DateTimeScalar)
  scheduledStart: Date;

  @Field(() => DateTimeScalar, { description: "After scheduledStart." })
  scheduledEnd: Date;
}
