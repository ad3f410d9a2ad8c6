import crypto from "node:crypto";
import https from "node:https";
import type { AddressInfo } from "node:net";
import { generate } from "selfsigned";

/** One message the local push service accepted, decrypted and with its VAPID claims checked. */
export interface ReceivedPush {
  id: string;
  payload: Record<string, any>;
  ttl: string | undefined;
  vapid: { aud: string; exp: number; sub: string; k: string };
}

/** A browser's side of a subscription: its P-256 key pair and auth secret, kept to decrypt. */
export interface PushClientKeys {
  ecdh: crypto.ECDH;
  publicKey: Buffer;
  authSecret: Buffer;
  /** What PushSubscriptionInput takes. */
  p256dh: string;
  auth: string;
}

export function pushClientKeys(): PushClientKeys {
  const ecdh = crypto.createECDH("prime256v1");
  const publicKey = ecdh.generateKeys();
  const authSecret = crypto.randomBytes(16);
  return { ecdh, publicKey, authSecret, p256dh: publicKey.toString("base64url"), auth: authSecret.toString("base64url") };
}

const hmac = (key: Buffer, data: Buffer) => crypto.createHmac("sha256", key).update(data).digest();

/** RFC 8291 / RFC 8188 aes128gcm decryption of one single-record web push message. */
export function decryptAes128gcm(body: Buffer, keys: PushClientKeys): string {
  const salt = body.subarray(0, 16);
  const rs = body.readUInt32BE(16);
  const idLength = body[20];
  const senderPublic = body.subarray(21, 21 + idLength);
  const record = body.subarray(21 + idLength);
  if (record.length > rs) throw new Error("more than one record");
  const ecdhSecret = keys.ecdh.computeSecret(senderPublic);
  const prkKey = hmac(keys.authSecret, ecdhSecret);
  const keyInfo = Buffer.concat([Buffer.from("WebPush: info\0"), keys.publicKey, senderPublic, Buffer.from([1])]);
  const ikm = hmac(prkKey, keyInfo);
  const prk = hmac(salt, ikm);
  const cek = hmac(prk, Buffer.from("Content-Encoding: aes128gcm\0\x01", "binary")).subarray(0, 16);
  const nonce = hmac(prk, Buffer.from("Content-Encoding: nonce\0\x01", "binary")).subarray(0, 12);
  const decipher = crypto.createDecipheriv("aes-128-gcm", cek, nonce);
  decipher.setAuthTag(record.subarray(record.length - 16));
  const padded = Buffer.concat([decipher.update(record.subarray(0, record.length - 16)), decipher.final()]);
  let end = padded.length - 1;
  while (end >= 0 && padded[end] === 0) end -= 1;
  if (padded[end] !== 2) throw new Error("no last-record padding delimiter");
  return padded.subarray(0, end).toString("utf8");
}

/** Checks `Authorization: vapid t=<jwt>, k=<key>`: an ES256 signature by k, answers the claims. */
export function verifyVapid(header: string | undefined): ReceivedPush["vapid"] {
  const match = /^vapid t=([^,\s]+),\s*k=([A-Za-z0-9_-]+)$/.exec(header ?? "");
  if (!match) throw new Error(`not a vapid Authorization header: ${header}`);
  const [, jwt, k] = match;
  const [head, body, signature] = jwt.split(".");
  const point = Buffer.from(k, "base64url");
  const key = crypto.createPublicKey({
    key: { kty: "EC", crv: "P-256", x: point.subarray(1, 33).toString("base64url"), y: point.subarray(33, 65).toString("base64url") },
    format: "jwk",
  });
  const valid = crypto.verify("sha256", Buffer.from(`${head}.${body}`), { key, dsaEncoding: "ieee-p1363" }, Buffer.from(signature, "base64url"));
  if (!valid) throw new Error("VAPID signature does not verify");
  if (JSON.parse(Buffer.from(head, "base64url").toString()).alg !== "ES256") throw new Error("VAPID JWT is not ES256");
  return { ...JSON.parse(Buffer.from(body, "base64url").toString()), k };
}

/**
 * A push service on 127.0.0.1 over https (a self-signed certificate made at start): POST
 * /push/<id> decrypts the message with the keys registered for <id>, checks its VAPID JWT and
 * answers 201, or the status set with `answer(id, status)`. Tests wait on `next(id)`.
 */
export class LocalPushService {
  readonly received: ReceivedPush[] = [];
  readonly requests = new Map<string, number>();
  readonly errors: Error[] = [];
  private readonly keys = new Map<string, PushClientKeys>();
  private readonly statuses = new Map<string, number>();
  private readonly waiters: Array<{ id: string; resolve: (push: ReceivedPush) => void }> = [];

  private constructor(
    private readonly server: https.Server,
    readonly origin: string,
    /** The certificate, for PUSH_ENDPOINT_CA. */
    readonly ca: string,
  ) {}

  static async start(): Promise<LocalPushService> {
    const pems = await generate([{ name: "commonName", value: "127.0.0.1" }], {
      keySize: 2048,
      extensions: [
        { name: "basicConstraints", cA: true },
        {
          name: "subjectAltName",
          altNames: [
            { type: 7, ip: "127.0.0.1" },
            { type: 2, value: "localhost" },
          ],
        },
      ],
    } as never);
    const server = https.createServer({ key: pems.private, cert: pems.cert });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const service = new LocalPushService(server, `https://127.0.0.1:${(server.address() as AddressInfo).port}`, pems.cert);
    server.on("request", (req, res) => service.handle(req, res));
    return service;
  }

  /** A new subscription's endpoint and keys, answered `status` (201 unless set). */
  subscription(status?: number, host = "127.0.0.1"): { id: string; endpoint: string; keys: PushClientKeys } {
    const id = crypto.randomUUID();
    const keys = pushClientKeys();
    this.keys.set(id, keys);
    if (status) this.statuses.set(id, status);
    return { id, endpoint: `${this.origin.replace("127.0.0.1", host)}/push/${id}`, keys };
  }

  answer(id: string, status: number): void {
    this.statuses.set(id, status);
  }

  /** The next message to arrive for `id` (or the first one not yet taken). */
  next(id: string): Promise<ReceivedPush> {
    const taken = this.received.findIndex((p) => p.id === id);
    if (taken >= 0) return Promise.resolve(this.received.splice(taken, 1)[0]);
    return new Promise((resolve) => this.waiters.push({ id, resolve }));
  }

  stop(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private handle(req: import("node:http").IncomingMessage, res: import("node:http").ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const id = /^\/push\/([0-9a-f-]+)$/.exec(req.url ?? "")?.[1] ?? "";
      this.requests.set(id, (this.requests.get(id) ?? 0) + 1);
      const status = this.statuses.get(id) ?? 201;
      try {
        const keys = this.keys.get(id);
        if (req.method !== "POST" || !keys) throw new Error(`unexpected ${req.method} ${req.url}`);
        if (req.headers["content-encoding"] !== "aes128gcm") throw new Error(`Content-Encoding ${req.headers["content-encoding"]}`);
        const vapid = verifyVapid(req.headers.authorization);
        if (vapid.aud !== this.origin.replace("127.0.0.1", req.headers.host?.split(":")[0] ?? "")) throw new Error(`VAPID aud ${vapid.aud}`);
        if (!(vapid.exp * 1000 > Date.now())) throw new Error("VAPID JWT expired");
        const push: ReceivedPush = { id, payload: JSON.parse(decryptAes128gcm(Buffer.concat(chunks), keys)), ttl: req.headers.ttl as string, vapid };
        if (status < 300) {
          const waiter = this.waiters.findIndex((w) => w.id === id);
          if (waiter >= 0) this.waiters.splice(waiter, 1)[0].resolve(push);
          else this.received.push(push);
        }
      } catch (err) {
        this.errors.push(err as Error);
      }
      res.writeHead(status).end();
    });
  }
}
