import DataLoader from "dataloader";
import type { AuthContext } from "../auth/auth-context";
import type { UserEntity } from "../entities/user.entity";
import type { Services } from "../services";

/** Per-request batching: one set per HTTP request or WebSocket operation. */
export interface Loaders {
  userById: DataLoader<string, UserEntity | undefined>;
}

export function createLoaders(services: Services): Loaders {
  return {
    userById: new DataLoader((ids) => services.users.byIds(ids)),
  };
}

/** What every resolver receives, over HTTP and over WebSocket alike. */
export interface RequestContext {
  requestId: string;
  auth: AuthContext;
  clientIp?: string;
  services: Services;
  loaders: Loaders;
}

/** The signed-in viewer (cached per request), or undefined. */
export async function viewer(ctx: RequestContext): Promise<UserEntity | undefined> {
  const id = ctx.auth.userId;
  return id ? ctx.loaders.userById.load(id) : undefined;
}
