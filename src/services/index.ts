import type { AccessPolicy } from "../auth/access";
import type { SessionService } from "./session.service";
import type { UserService } from "./user.service";

/** Every domain service, built once per instance by the composition root (src/app.ts). */
export interface Services {
  access: AccessPolicy;
  users: UserService;
  sessions: SessionService;
}
