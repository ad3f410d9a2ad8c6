import { createHmac, randomBytes } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";

/** One request the service answered: method, path and JSON body. */
export interface DailyRequest {
  method: string;
  path: string;
  body: any;
}

/**
 * The subset of Daily's REST API the server uses, on 127.0.0.1: `POST /v1/rooms` (400
 * "already exists" for a taken name, as Daily answers), `GET` and `DELETE /v1/rooms/:name`
 * (404 for an unknown room), `POST /v1/rooms/:name/recordings/start` (400 unless the room
 * may be recorded) and `POST /v1/meeting-tokens`, each refusing a wrong bearer key
 * with 401. It keeps the rooms and every request, can be stopped and started again on the
 * same port (a provider outage), and signs webhooks the way Daily does.
 */
export class LocalDailyService {
  readonly apiKey = `key-${randomBytes(8).toString("hex")}`;
  /** The webhook secret, base64 as Daily shows it (DAILY_WEBHOOK_SECRET). */
  readonly webhookSecret = randomBytes(32).toString("base64");
  readonly rooms = new Map<string, { name: string; url: string; privacy: string; properties: Record<string, unknown> }>();
  readonly requests: DailyRequest[] = [];
  /** Every token issued, with the properties it was asked for. */
  readonly tokens: Array<{ token: string; properties: Record<string, any> }> = [];
  private readonly waiters: Array<{ match: (r: DailyRequest) => boolean; resolve: () => void }> = [];
  private server: http.Server | undefined;
  private port = 0;

  static async start(): Promise<LocalDailyService> {
    const service = new LocalDailyService();
    await service.resume();
    return service;
  }

  /** DAILY_API_URL for the server under test. */
  get apiUrl(): string {
    return `http://127.0.0.1:${this.port}/v1`;
  }

  /** The environment of a server that uses this service (VIDEO_PROVIDER=daily). */
  env(): Record<string, string> {
    return {
      VIDEO_PROVIDER: "daily",
      DAILY_API_KEY: this.apiKey,
      DAILY_API_URL: this.apiUrl,
      DAILY_DOMAIN: "school",
      DAILY_WEBHOOK_SECRET: this.webhookSecret,
    };
  }

  /** Requests of `method` to paths starting with `path`. */
  count(method: string, path: string): number {
    return this.requests.filter((r) => r.method === method && r.path.startsWith(path)).length;
  }

  /** Resolves once a request matching `match` has been answered (at once if one was). */
  answered(match: (r: DailyRequest) => boolean): Promise<void> {
    if (this.requests.some(match)) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ match, resolve }));
  }

  /** Headers Daily signs a webhook body with, at `timestamp` (Unix seconds). */
  sign(body: string, timestamp = Math.floor(Date.now() / 1000)): Record<string, string> {
    const signature = createHmac("sha256", Buffer.from(this.webhookSecret, "base64")).update(`${timestamp}.${body}`).digest("base64");
    return { "content-type": "application/json", "x-webhook-timestamp": String(timestamp), "x-webhook-signature": signature };
  }

  /** The provider goes down: connections are refused until `resume`. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }

  /** Listens again, on the same port once it had one. */
  async resume(): Promise<void> {
    const server = http.createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => server.listen(this.port, "127.0.0.1", resolve));
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString("utf8");
    const request: DailyRequest = { method: req.method ?? "", path: (req.url ?? "").replace(/^\/v1/, ""), body: text ? JSON.parse(text) : undefined };
    const answer = (status: number, body: unknown) => {
      res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
      this.requests.push(request);
      for (const waiter of this.waiters.filter((w) => w.match(request))) {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    };
    if (req.headers.authorization !== `Bearer ${this.apiKey}`) return answer(401, { error: "authentication-error", info: "bad API key" });
    const room = /^\/rooms\/([^/]+)$/.exec(request.path);
    if (request.method === "POST" && request.path === "/rooms") {
      const { name, privacy, properties } = request.body ?? {};
      if (typeof name !== "string") return answer(400, { error: "invalid-request-error", info: "name is required" });
      if (this.rooms.has(name)) return answer(400, { error: "invalid-request-error", info: `a room named ${name} already exists` });
      const created = { name, url: `https://school.daily.co/${name}`, privacy, properties };
      this.rooms.set(name, created);
      return answer(200, { id: randomBytes(8).toString("hex"), ...created, api_created: true });
    }
    if (request.method === "GET" && room) {
      const found = this.rooms.get(decodeURIComponent(room[1]));
      return found ? answer(200, found) : answer(404, { error: "not-found", info: "room not found" });
    }
    if (request.method === "DELETE" && room) {
      const name = decodeURIComponent(room[1]);
      if (!this.rooms.delete(name)) return answer(404, { error: "not-found", info: `room ${name} was not found` });
      return answer(200, { deleted: true, name });
    }
    const recording = /^\/rooms\/([^/]+)\/recordings\/start$/.exec(request.path);
    if (request.method === "POST" && recording) {
      const found = this.rooms.get(decodeURIComponent(recording[1]));
      if (!found) return answer(404, { error: "not-found", info: "room not found" });
      if (!found.properties.enable_recording) return answer(400, { error: "invalid-request-error", info: "recording is not enabled for this room" });
      return answer(200, { recordingId: randomBytes(8).toString("hex") });
    }
    if (request.method === "POST" && request.path === "/meeting-tokens") {
      const properties = request.body?.properties ?? {};
      if (!this.rooms.has(properties.room_name)) return answer(400, { error: "invalid-request-error", info: "room_name does not exist" });
      const token = `tok-${randomBytes(12).toString("hex")}`;
      this.tokens.push({ token, properties });
      return answer(200, { token });
    }
    answer(404, { error: "not-found" });
  }
}
