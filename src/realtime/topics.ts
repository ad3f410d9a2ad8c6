import type { TimelineMessage } from "../services/timeline";

/**
 * Every pub/sub channel of the API, made by functions so no channel name is spelled twice.
 * A Topic carries the payload type it is published with; the bus adds the Redis prefix.
 */
export interface Topic<T> {
  readonly channel: string;
  /** Type only: never set. */
  readonly __payload?: T;
}

function topic<T>(channel: string): Topic<T> {
  return { channel };
}

/** A user's own profile changed (any device). */
export interface ProfileChanged {
  userId: string;
  displayName: string;
  updatedAt: Date;
}

export const topics = {
  profile: (userId: string) => topic<ProfileChanged>(`user:${userId}:profile`),
  /** Every committed timeline event of a session, in seq order per publisher. */
  sessionTimeline: (sessionId: string) => topic<TimelineMessage>(`session:${sessionId}:timeline`),
};
