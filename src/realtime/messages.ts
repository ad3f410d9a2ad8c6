/**
 * What the pub/sub channels carry (topics.ts) that services publish and transports deliver:
 * kept here, below both, so realtime never imports a service to know a payload's shape.
 */

export enum SignalType {
  OFFER = "OFFER",
  ANSWER = "ANSWER",
  ICE_CANDIDATE = "ICE_CANDIDATE",
  JOIN = "JOIN",
  LEAVE = "LEAVE",
  MUTE_AUDIO = "MUTE_AUDIO",
  UNMUTE_AUDIO = "UNMUTE_AUDIO",
  MUTE_VIDEO = "MUTE_VIDEO",
  UNMUTE_VIDEO = "UNMUTE_VIDEO",
  SCREEN_SHARE_START = "SCREEN_SHARE_START",
  SCREEN_SHARE_STOP = "SCREEN_SHARE_STOP",
}

/** A relayed signal, as published on topics.signals and delivered (Signal). */
export interface SignalMessage {
  sessionId: string;
  type: SignalType;
  fromUserId: string;
  /** null: every other participant. */
  toUserId: string | null;
  payload: unknown;
  sentAt: Date;
}

/** A committed timeline event as published to the session's subscribers. */
export interface TimelineMessage {
  id: string;
  sessionId: string;
  seq: number;
  type: string;
  timestampMs: number;
  userId: string | null;
  data: Record<string, unknown>;
  clientOpId: string | null;
  boardVersion: number | null;
  createdAt: Date;
}

/** A revocation as every instance learns of it: one token (logout), or every token of a user issued before a time (changePassword). */
export interface TokenRevoked {
  userId: string;
  /** The revoked token's id, and when it would have expired anyway. */
  tokenId?: string;
  expiresAtMs?: number;
  /** Tokens of the user issued before this (ms) are refused. */
  validAfterMs?: number;
}
