import { Field, ID, ObjectType } from "type-graphql";
import { DateTimeScalar } from "./scalars";

/**
 * A tutor's class. Resolved from ClassroomEntity: id, name and createdAt map by name;
 * tutor, members and sessions are field resolvers (ClassroomResolver).
 */
@ObjectType("Classroom")
export class Classroom {
  @Field(() => ID)
  id: string;

  @Field()
  name: string;

  @Field(() => DateTimeScalar, { description: "When the classroom was created." })
  createdAt: Date;
}
