import { BoardSnapshotEntity } from "./board-snapshot.entity";
import { BookingEntity } from "./booking.entity";
import { ClassroomEntity, ClassroomMemberEntity } from "./classroom.entity";
import { ParticipantEntity, RolePermissionsEntity } from "./participant.entity";
import { SessionEventEntity } from "./session-event.entity";
import { PushSubscriptionEntity } from "./push-subscription.entity";
import { SessionEntity } from "./session.entity";
import { TelemetryEventEntity } from "./telemetry-event.entity";
import { UserEntity } from "./user.entity";

/** Every entity the DataSource maps. */
export const entities = [
  UserEntity,
  ClassroomEntity,
  ClassroomMemberEntity,
  BookingEntity,
  SessionEntity,
  ParticipantEntity,
  RolePermissionsEntity,
  SessionEventEntity,
  BoardSnapshotEntity,
  TelemetryEventEntity,
  PushSubscriptionEntity,
];
