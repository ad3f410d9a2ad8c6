import { Field, ID, InputType, Int, ObjectType, registerEnumType } from "type-graphql";
import { BookingStatus } from "../entities/booking.entity";
import { EDGE_CURSOR, TOTAL_COUNT } from "./descriptions";
import { PageInfo } from "./page.type";
import { DateTimeScalar } from "./scalars";

registerEnumType(BookingStatus, {
  name: "BookingStatus",
  description: "Where a booking is.",
  valuesConfig: {
    PENDING: { description: "Booked by the tutor, not confirmed yet; holds its slot." },
    CONFIRMED: { description: "Confirmed: its SCHEDULED lesson session exists, with the student INVITED; holds its slot." },
    CANCELLED: { description: "Cancelled by its tutor, its student or an admin; its slot is free again. Final." },
  },
});

/**
 * A lesson a tutor booked for a student. Resolved from BookingEntity: plain columns map by
 * name; tutor, student, classroom and session are field resolvers (BookingResolver).
 */
@ObjectType("Booking", { description: "A lesson a tutor booked for a student. Readable by its tutor, its student and admins." })
export class Booking {
  @Field(() => ID, { description: "The booking's id (booking, confirmBooking, cancelBooking)." })
  id: string;

  @Field(() => DateTimeScalar, { description: "When the lesson is to start." })
  scheduledStart: Date;

  @Field(() => DateTimeScalar, { description: "When the lesson is to end." })
  scheduledEnd: Date;

  @Field(() => BookingStatus, { description: "Where the booking is." })
  status: BookingStatus;

  @Field(() => DateTimeScalar, { description: "When the booking was made." })
  createdAt: Date;
}

@ObjectType({ description: "One booking of a BookingConnection page." })
export class BookingEdge {
  @Field({ description: EDGE_CURSOR })
  cursor: string;

  @Field(() => Booking, { description: "The booking." })
  node: Booking;
}

@ObjectType({ description: "A page of bookings, the earliest scheduledStart first." })
export class BookingConnection {
  @Field(() => [BookingEdge], { description: "The bookings of this page." })
  edges: BookingEdge[];

  @Field(() => PageInfo, { description: "Where this page is in the list." })
  pageInfo: PageInfo;

  @Field(() => Int, { description: TOTAL_COUNT })
  totalCount: number;
}

@InputType({ description: "A lesson to book (createBooking)." })
export class CreateBookingInput {
  @Field(() => ID, { description: "The student: a user with role STUDENT (BAD_USER_INPUT otherwise)." })
  studentId: string;

  @Field(() => ID, {
    nullable: true,
    description: "One of the tutor's own classrooms. NOT_FOUND for a classroom you cannot see, FORBIDDEN for one you are only a member of.",
  })
  classroomId?: string;

  @Field(() => DateTimeScalar, { description: "When the lesson starts." })
  scheduledStart: Date;

  @Field(() => DateTimeScalar, { description: "After scheduledStart (BAD_USER_INPUT otherwise). Slots are half-open: a lesson may start when another ends." })
  scheduledEnd: Date;
}
