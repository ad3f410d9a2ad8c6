import { Field, ID, ObjectType } from "type-graphql";
import { DateTimeScalar } from "./scalars";

/**
 * A tutor's class. Resolved from ClassroomEntity: id, name and createdAt map by name;
 * tutor, members and sessions are field resolvers (ClassroomResolver).
 */
@ObjectType("Classroom", { description: "A tutor's class, whose members reach the sessions scheduled in it. Readable by its tutor, its members and admins." })
export class Classroom {
  @Field(() => ID, { description: "The classroom's id (classroom, addClassroomMember, a new session's or booking's classroomId)." })
  id: string;

  @Field({ description: "1 to 200 characters." })
  name: string;

  @Field(() => DateTimeScalar, { description: "When the classroom was created." })
  createdAt: Date;
}
