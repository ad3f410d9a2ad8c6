import type { DailyConfig } from "../config";

/** A room at the provider: its name and the URL participants open. */
export interface ProviderRoom {
  name: string;
  url: string;
}

/** What a session's room is made with. */
export interface RoomSpec {
  name: string;
  /** The provider deletes the room by itself after this (a room we could not delete does not live forever). */
  expiresAt: Date;
  maxParticipants: number;
  screenShare: boolean;
  /** isRecorded: without it the room cannot be recorded at all. */
  recording: boolean;
}

/** What a participant's meeting token allows. */
export interface TokenSpec {
  roomName: string;
  userId: string;
  userName: string;
  /** The host: the provider's owner rights in the room. */
  owner: boolean;
  screenShare: boolean;
  expiresAt: Date;
}

/** The provider did not answer, or refused; `status` is its HTTP status when it answered. */
export class VideoProviderError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = "VideoProviderError";
  }
}

/**
 * The video provider port (W7). `p2p` hosts no rooms (media goes peer to peer through our
 * signaling relay); `daily` makes rooms and meeting tokens through Daily's REST API.
 */
export interface VideoProvider {
  /** VIDEO_PROVIDER: what VideoRoom.provider shows. */
  readonly name: "p2p" | "daily";
  /** Whether sessions get rooms and tokens from it. */
  readonly hostsRooms: boolean;
  /** Creates the room, or answers the existing one of that name: a retry never makes a second room. */
  createRoom(spec: RoomSpec): Promise<ProviderRoom>;
  /** Deletes the room; one that is gone already is fine. */
  deleteRoom(name: string): Promise<void>;
  /** A meeting token for one participant. */
  meetingToken(spec: TokenSpec): Promise<string>;
  /** Starts recording the room's call in the provider's cloud. */
  startRecording(roomName: string): Promise<void>;
}

/** VIDEO_PROVIDER=p2p: no room, no token, no request anywhere. */
export const p2pVideo: VideoProvider = {
  name: "p2p",
  hostsRooms: false,
  createRoom: () => Promise.reject(new VideoProviderError("p2p hosts no rooms")),
  deleteRoom: () => Promise.resolve(),
  meetingToken: () => Promise.reject(new VideoProviderError("p2p issues no tokens")),
  startRecording: () => Promise.reject(new VideoProviderError("p2p records nothing")),
};

const unixSeconds = (at: Date) => Math.floor(at.getTime() / 1000);

/**
 * Daily's REST API (https://docs.daily.co/reference/rest-api): `POST /rooms`, `GET` and
 * `DELETE /rooms/:name`, `POST /meeting-tokens`, with the API key as a bearer token and a
 * timeout per request. Rooms are private: only a meeting token gets in.
 */
export class DailyVideoProvider implements VideoProvider {
  readonly name = "daily";
  readonly hostsRooms = true;

  constructor(private readonly config: Pick<DailyConfig, "apiKey" | "apiUrl" | "domain" | "timeoutMs">) {}

  async createRoom(spec: RoomSpec): Promise<ProviderRoom> {
    const body = {
      name: spec.name,
      privacy: "private",
      properties: {
        exp: unixSeconds(spec.expiresAt),
        max_participants: spec.maxParticipants,
        enable_screenshare: spec.screenShare,
        // Recording the call is possible only in a recorded session, and only through the API
        // (startRecording, once everyone consented): tokens never show the call's own button.
        ...(spec.recording ? { enable_recording: "cloud" } : {}),
      },
    };
    const created = await this.request("POST", "/rooms", body, [400]);
    if (created.status === 400) {
      // Made by an earlier attempt whose answer was lost: that one is the room.
      if (!/already exists/i.test(String(created.body?.info ?? ""))) throw this.refused("POST /rooms", created);
      return this.room((await this.request("GET", `/rooms/${encodeURIComponent(spec.name)}`)).body, spec.name);
    }
    return this.room(created.body, spec.name);
  }

  async startRecording(roomName: string): Promise<void> {
    await this.request("POST", `/rooms/${encodeURIComponent(roomName)}/recordings/start`, {});
  }

  async deleteRoom(name: string): Promise<void> {
    await this.request("DELETE", `/rooms/${encodeURIComponent(name)}`, undefined, [404]);
  }

  async meetingToken(spec: TokenSpec): Promise<string> {
    const properties = {
      room_name: spec.roomName,
      user_id: spec.userId,
      user_name: spec.userName,
      is_owner: spec.owner,
      enable_screenshare: spec.screenShare,
      enable_recording_ui: false,
      exp: unixSeconds(spec.expiresAt),
    };
    const { body } = await this.request("POST", "/meeting-tokens", { properties });
    if (typeof body?.token !== "string") throw new VideoProviderError("the provider answered no token");
    return body.token;
  }

  private room(body: Record<string, unknown> | undefined, name: string): ProviderRoom {
    const host = this.config.domain.includes(".") ? this.config.domain : `${this.config.domain}.daily.co`;
    return { name, url: typeof body?.url === "string" ? body.url : `https://${host}/${name}` };
  }

  private refused(what: string, answer: { status: number; body?: Record<string, unknown> }): VideoProviderError {
    const info = typeof answer.body?.info === "string" ? `: ${answer.body.info.slice(0, 200)}` : "";
    return new VideoProviderError(`${what} answered ${answer.status}${info}`, answer.status);
  }

  /** One request; a status outside 2xx and `accepted` is a VideoProviderError, as is no answer in time. */
  private async request(method: string, path: string, body?: unknown, accepted: number[] = []): Promise<{ status: number; body?: Record<string, unknown> }> {
    let res: Response;
    try {
      res = await fetch(`${this.config.apiUrl}${path}`, {
        method,
        headers: { authorization: `Bearer ${this.config.apiKey}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
        body: body === undefined ? undefined : JSON.stringify(body),
        redirect: "error",
        signal: AbortSignal.timeout(this.config.timeoutMs),
      });
    } catch (err) {
      const why = err instanceof Error && err.name === "TimeoutError" ? `no answer in ${this.config.timeoutMs} ms` : "unreachable";
      throw new VideoProviderError(`${method} ${path.split("/")[1]}: the provider is ${why}`);
    }
    const text = await res.text();
    let parsed: Record<string, unknown> | undefined;
    try {
      parsed = text ? (JSON.parse(text) as Record<string, unknown>) : undefined;
    } catch {
      parsed = undefined;
    }
    const answer = { status: res.status, body: parsed };
    if (res.ok || accepted.includes(res.status)) return answer;
    throw this.refused(`${method} /${path.split("/")[1]}`, answer);
  }
}
