import { Field, ID, InputType, ObjectType, registerEnumType } from "type-graphql";
import { UserRole } from "../entities/user.entity";
import { DateTimeScalar } from "./scalars";

export { UserRole };
registerEnumType(UserRole, { name: "UserRole" });

@ObjectType()
export class User {
  @Field(() => ID)
  id: string;

  // email is a field resolver: its visibility depends on who asks (UserResolver).

  @Field()
  displayName: string;

  @Field(() => UserRole)
  role: UserRole;

  @Field(() => DateTimeScalar)
  createdAt: Date;
}

@InputType()
export class RegisterInput {
  @Field()
  email: string;

  @Field()
  password: string;

  @Field()
  displayName: string;

  @Field(() => UserRole, { description: "TUTOR or STUDENT; ADMIN is FORBIDDEN here (admins are made from the command line)." })
  role: UserRole;
}

@InputType({ description: "Fields of your own profile to change; omitted ones stay." })
export class UpdateProfileInput {
  @Field({ nullable: true })
  displayName?: string;
}

@ObjectType()
export class AuthPayload {
  @Field()
  accessToken: string;

  @Field(() => DateTimeScalar)
  expiresAt: Date;

  @Field(() => User)
  user: User;
}
