import DataLoader from "dataloader";
import type { AuthContext } from "../auth/auth-context";
import type { ParticipantEntity } from "../entities/participant.entity";
import type { UserEntity } from "../entities/user.entity";
import type { Services } from "../services";

/** Per-request batching: one set per HTTP request or WebSocket operation. */
export interface Loaders {
  userById: DataLoader<string, UserEntity | undefined>;
  /** Whether the signed-in viewer teaches the user (their classroom tutor or session host). */
  taughtByViewer: DataLoader<string, boolean>;
  participantsBySession: DataLoader<string, ParticipantEntity[]>;
}

/** `viewerId` is read when a batch runs, so a login earlier in the operation counts. */
export function createLoaders(services: Services, viewerId: () => string | undefined): Loaders {
  return {
    userById: new DataLoader((ids) => services.users.byIds(ids)),
    taughtByViewer: new DataLoader(async (ids) => {
      const viewer = viewerId();
      const taught = viewer ? await services.access.taughtBy(viewer, ids) : new Set<string>();
      return ids.map((id) => taught.has(id));
    }),
    participantsBySession: new DataLoader((ids) => services.sessions.participantsOf(ids)),
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

/** A fresh context for one HTTP request or WebSocket operation (both transports use this). */
export function createRequestContext(init: Omit<RequestContext, "loaders">): RequestContext {
  const ctx = { ...init } as RequestContext;
  ctx.loaders = createLoaders(init.services, () => ctx.auth.userId);
  return ctx;
}
