import { outcome, type JobDefinition } from "./job";

/**
 * W7 video rooms: creates the rooms a provider outage or a crash left missing, deletes those
 * of sessions that are over (or deleted) and whose deletion failed, with exponential backoff
 * (VIDEO_RETRY_BASE_MS, at most an hour between tries), and gives up a room once it is past
 * the expiry the provider deletes it at. Idempotent: rooms are made by name, deleting a gone
 * room is fine. Nothing to do with VIDEO_PROVIDER=p2p.
 */
export const videoRoomsJob: JobDefinition = {
  name: "video-rooms",
  description: "create the video rooms a provider outage left missing; delete rooms of finished sessions",
  everyMs: 30_000,
  async run({ services, now }) {
    const done = await services.videoRooms.retryDue(now());
    return outcome(done.created + done.deleted + done.failed, `created ${done.created} and deleted ${done.deleted} video rooms, ${done.failed} to retry`);
  },
};
