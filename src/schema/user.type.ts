import { Field, ID, InputType, ObjectType, registerEnumType } from "type-graphql";
import { UserRole } from "../entities/user.entity";
import { DateTimeScalar } from "./scalars";

export { UserRole };
registerEnumType(UserRole, {
  name: "UserRole",
  description: "What an account is for; it decides what the user may create.",
  valuesConfig: {
    TUTOR: { description: "Creates classrooms and sessions (hosting them), books lessons for students and confirms them." },
    STUDENT: { description: "Joins sessions, is booked for lessons and added to classrooms; like everyone, may open solo workspaces." },
    ADMIN: {
      description:
        "Reads every session, classroom and booking; creates sessions and classrooms, manages any classroom's members, confirms or cancels any booking (books none). Made with `npm run admin -- <email>`, never by register.",
    },
  },
});

@ObjectType({ description: "An account. Any signed-in user may read any user; the email only as `email` says." })
export class User {
  @Field(() => ID, { description: "The user's id." })
  id: string;

  // email is a field resolver: its visibility depends on who asks (UserResolver).

  @Field({ description: "The name shown to others, 1 to 100 characters (updateProfile changes it)." })
  displayName: string;

  @Field(() => UserRole, { description: "The account's role, chosen at registration." })
  role: UserRole;

  @Field(() => DateTimeScalar, { description: "When the account was registered." })
  createdAt: Date;
}

@InputType({ description: "A new account: its sign-in email and password, its name and its role." })
export class RegisterInput {
  @Field({ description: "The sign-in email, stored lower-cased; at most 254 characters. Taken already: CONFLICT." })
  email: string;

  @Field({ description: "8 to 256 characters." })
  password: string;

  @Field({ description: "1 to 100 characters after trimming." })
  displayName: string;

  @Field(() => UserRole, { description: "TUTOR or STUDENT; ADMIN is FORBIDDEN here (admins are made from the command line)." })
  role: UserRole;
}

@InputType({ description: "Fields of your own profile to change; omitted ones stay." })
export class UpdateProfileInput {
  @Field({ nullable: true, description: "1 to 100 characters after trimming." })
  displayName?: string;
}

@ObjectType({ description: "A signed-in user and their access token (register, login, refreshAccessToken, changePassword)." })
export class AuthPayload {
  @Field({ description: "Send it as `Authorization: Bearer <accessToken>`; valid until expiresAt (ACCESS_TOKEN_TTL, 1 h)." })
  accessToken: string;

  @Field(() => DateTimeScalar, { description: "When accessToken expires; refresh it before then with refreshAccessToken." })
  expiresAt: Date;

  @Field(() => User, { description: "The signed-in user." })
  user: User;
}
