import { Users1763776800000 } from "./1763776800000-users";
import { Sessions1763780400000 } from "./1763780400000-sessions";
import { BoardEvents1763784000000 } from "./1763784000000-board-events";
import { BoardSnapshots1763787600000 } from "./1763787600000-board-snapshots";
import { TokenRevocation1763791200000 } from "./1763791200000-token-revocation";
import { BoardEventVersions1763794800000 } from "./1763794800000-board-event-versions";
import { SnapshotCompression1763798400000 } from "./1763798400000-snapshot-compression";
import { ClientOpLookup1763802000000 } from "./1763802000000-client-op-lookup";
import { TelemetryEvents1763805600000 } from "./1763805600000-telemetry-events";
import { OfflineSync1763809200000 } from "./1763809200000-offline-sync";
import { Push1763809400000 } from "./1763809400000-push";
import { LessonReminders1763809600000 } from "./1763809600000-lesson-reminders";
import { VideoRooms1763809800000 } from "./1763809800000-video-rooms";
import { AccountErasure1763810000000 } from "./1763810000000-account-erasure";
import { ConnectionQuality1763810100000 } from "./1763810100000-connection-quality";

/** Every migration, in order. Listed by hand so the built and the CLI DataSource agree. */
export const migrations = [
  Users1763776800000,
  Sessions1763780400000,
  BoardEvents1763784000000,
  BoardSnapshots1763787600000,
  TokenRevocation1763791200000,
  BoardEventVersions1763794800000,
  SnapshotCompression1763798400000,
  ClientOpLookup1763802000000,
  TelemetryEvents1763805600000,
  OfflineSync1763809200000,
  Push1763809400000,
  LessonReminders1763809600000,
  VideoRooms1763809800000,
  AccountErasure1763810000000,
  ConnectionQuality1763810100000,
];
