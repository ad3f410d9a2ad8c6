import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn, UpdateDateColumn } from "typeorm";

export enum ParticipantRole {
  HOST = "HOST",
  STUDENT = "STUDENT",
  VIEWER = "VIEWER",
  SOLO = "SOLO",
}

export enum ParticipantStatus {
  INVITED = "INVITED",
  JOINING = "JOINING",
  CONNECTED = "CONNECTED",
  RECONNECTING = "RECONNECTING",
  DISCONNECTED = "DISCONNECTED",
  LEFT = "LEFT",
  KICKED = "KICKED",
}

/** The 15 permission flags of the contract's Permissions type. */
export const PERMISSION_KEYS = [
  "canDraw",
  "canErase",
  "canAddLayers",
  "canDeleteLayers",
  "canReorderLayers",
  "canUploadImages",
  "canExport",
  "canClearBoard",
  "canToggleVideo",
  "canToggleAudio",
  "canShareScreen",
  "canInvite",
  "canKick",
  "canTerminate",
  "canPause",
] as const;
export type PermissionKey = (typeof PERMISSION_KEYS)[number];
export type Permissions = Record<PermissionKey, boolean>;

/** A user's place in a session: role, status, media, grants, attendance counters. */
@Entity({ name: "session_participants" })
export class ParticipantEntity {
  @PrimaryGeneratedColumn("uuid")
  id: string;

  @Column({ name: "session_id", type: "uuid" })
  sessionId: string;

  @Column({ name: "user_id", type: "uuid" })
  userId: string;

  @Column({ type: "varchar", length: 16 })
  role: ParticipantRole;

  @Column({ type: "varchar", length: 16 })
  status: ParticipantStatus;

  @Column({ name: "joined_at", type: "timestamptz", nullable: true })
  joinedAt: Date | null;

  @Column({ name: "left_at", type: "timestamptz", nullable: true })
  leftAt: Date | null;

  @Column({ name: "peer_id", type: "varchar", length: 64, nullable: true })
  peerId: string | null;

  @Column({ name: "audio_enabled", type: "boolean", default: false })
  audioEnabled: boolean;

  @Column({ name: "video_enabled", type: "boolean", default: false })
  videoEnabled: boolean;

  @Column({ name: "screen_sharing", type: "boolean", default: false })
  screenSharing: boolean;

  @Column({ name: "connection_quality", type: "varchar", length: 32, nullable: true })
  connectionQuality: string | null;

  @Column({ name: "hand_raised", type: "boolean", default: false })
  handRaised: boolean;

  @Column({ name: "permission_grants", type: "jsonb", default: {} })
  permissionGrants: Partial<Permissions>;

  @Column({ name: "join_count", type: "integer", default: 0 })
  joinCount: number;

  @Column({ name: "reconnect_count", type: "integer", default: 0 })
  reconnectCount: number;

  @Column({ name: "connected_seconds", type: "integer", default: 0 })
  connectedSeconds: number;

  @Column({ name: "connected_since", type: "timestamptz", nullable: true })
  connectedSince: Date | null;

  /** When they last joined the provider's call (VIDEO_PROVIDER=daily); null while not in it. */
  @Column({ name: "in_call_since", type: "timestamptz", nullable: true })
  inCallSince: Date | null;

  /** Seconds in the provider's call before inCallSince. */
  @Column({ name: "call_seconds", type: "integer", default: 0 })
  callSeconds: number;

  /** Their answer to recording the call (setRecordingConsent); null until they answer. */
  @Column({ name: "recording_consent", type: "boolean", nullable: true })
  recordingConsent: boolean | null;

  @CreateDateColumn({ name: "created_at", type: "timestamptz" })
  createdAt: Date;

  @UpdateDateColumn({ name: "updated_at", type: "timestamptz" })
  updatedAt: Date;
}

@Entity({ name: "role_permissions" })
export class RolePermissionsEntity {
  @Column({ type: "varchar", length: 16, primary: true })
  role: ParticipantRole;

  @Column({ type: "jsonb" })
  permissions: Permissions;
}

/** Participants holding a seat (RULES.md "Participants"). */
export const SEATED: readonly ParticipantStatus[] = [ParticipantStatus.JOINING, ParticipantStatus.CONNECTED, ParticipantStatus.RECONNECTING];

/** Whether `participant` holds a seat (JOINING, CONNECTED or RECONNECTING). */
export function isSeated(participant: ParticipantEntity | null | undefined): participant is ParticipantEntity {
  return !!participant && SEATED.includes(participant.status);
}
