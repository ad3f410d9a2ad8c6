import type { Redis } from "ioredis";

/** The last cursor position of one user in one session (ephemeral: never a database row). */
export interface CursorPosition {
  userId: string;
  x: number;
  y: number;
  tool: string | null;
  color: string | null;
}

/**
 * What topics.cursors carries: the positions one instance accepted for a session during one
 * tick (the last of each user), announced once per tick rather than published once per move
 * (issue 10): only the other instances hear it, as the publishing instance's hub has them already.
 */
export interface CursorBatch {
  cursors: CursorPosition[];
}

/** Who is online in a session, and the last cursor of each of them. */
export interface PresenceState {
  onlineUserIds: string[];
  cursors: CursorPosition[];
}

/** A membership change, published on topics.presence(sessionId). */
export interface PresenceChange {
  kind: "JOINED" | "LEFT";
  userId: string;
}

/**
 * Ephemeral presence of sessions: one entry per realtime connection (a user with two tabs,
 * or two instances, is online while any of them is), each with a heartbeat deadline. The
 * answers that say "went online" / "went offline" are given to exactly one caller across all
 * instances, so JOINED and LEFT are published once.
 */
export interface PresenceStore {
  /**
   * Marks connection `connId` of `userId` online for `ttlMs` more (first call and every
   * heartbeat). Answers true when the user was not online before (publish JOINED).
   */
  touch(sessionId: string, userId: string, connId: string, ttlMs: number): Promise<boolean>;
  /** Removes a connection; true when it was the user's last live one (publish LEFT). */
  remove(sessionId: string, userId: string, connId: string): Promise<boolean>;
  /** Drops connections whose heartbeat stopped; answers the users that went offline (publish LEFT). */
  sweep(sessionId: string): Promise<string[]>;
  /** Online users (live connections) and their last cursors. */
  state(sessionId: string): Promise<PresenceState>;
  /**
   * Records the last positions of users (a tick's batch of one instance, issue 10): shown in
   * the first frame of later subscribers while each user is online; `ttlMs`, the presence TTL,
   * sizes their garbage collection.
   */
  saveCursors(sessionId: string, cursors: readonly CursorPosition[], ttlMs: number): Promise<void>;
}

/** The embedded default: one process, so plain maps. */
export class MemoryPresenceStore implements PresenceStore {
  /** sessionId → connection field ("userId connId") → { userId, deadline }. */
  private readonly connections = new Map<string, Map<string, { userId: string; deadline: number }>>();
  private readonly cursors = new Map<string, Map<string, CursorPosition>>();

  constructor(private readonly now: () => number = Date.now) {}

  async touch(sessionId: string, userId: string, connId: string, ttlMs: number): Promise<boolean> {
    const conns = this.connectionsOf(sessionId);
    const now = this.now();
    let wasOnline = false;
    for (const [field, conn] of conns) {
      if (conn.userId !== userId) continue;
      if (conn.deadline > now) wasOnline = true;
      else if (field !== connectionField(userId, connId)) conns.delete(field); // a ghost of the same user: merged
    }
    conns.set(connectionField(userId, connId), { userId, deadline: now + ttlMs });
    return !wasOnline;
  }

  async remove(sessionId: string, userId: string, connId: string): Promise<boolean> {
    const conns = this.connections.get(sessionId);
    if (!conns?.delete(connectionField(userId, connId))) return false;
    const now = this.now();
    for (const [field, conn] of conns) {
      if (conn.userId !== userId) continue;
      if (conn.deadline > now) return false;
      conns.delete(field);
    }
    this.forget(sessionId, [userId]);
    return true;
  }

  async sweep(sessionId: string): Promise<string[]> {
    const conns = this.connections.get(sessionId);
    if (!conns) return [];
    const now = this.now();
    const dead = new Set<string>();
    const live = new Set<string>();
    for (const [field, conn] of conns) {
      if (conn.deadline > now) live.add(conn.userId);
      else {
        conns.delete(field);
        dead.add(conn.userId);
      }
    }
    const gone = [...dead].filter((u) => !live.has(u));
    this.forget(sessionId, gone);
    return gone;
  }

  async state(sessionId: string): Promise<PresenceState> {
    const now = this.now();
    const online = new Set<string>();
    for (const conn of this.connections.get(sessionId)?.values() ?? []) if (conn.deadline > now) online.add(conn.userId);
    const cursors = [...(this.cursors.get(sessionId)?.values() ?? [])].filter((c) => online.has(c.userId));
    return { onlineUserIds: [...online], cursors };
  }

  async saveCursors(sessionId: string, cursors: readonly CursorPosition[]): Promise<void> {
    let saved = this.cursors.get(sessionId);
    if (!saved) this.cursors.set(sessionId, (saved = new Map()));
    for (const cursor of cursors) saved.set(cursor.userId, cursor);
  }

  private connectionsOf(sessionId: string) {
    let conns = this.connections.get(sessionId);
    if (!conns) this.connections.set(sessionId, (conns = new Map()));
    return conns;
  }

  /** Offline users lose their cursor; empty sessions are dropped so memory follows live sessions. */
  private forget(sessionId: string, userIds: string[]): void {
    const cursors = this.cursors.get(sessionId);
    for (const userId of userIds) cursors?.delete(userId);
    if (cursors?.size === 0) this.cursors.delete(sessionId);
    if (this.connections.get(sessionId)?.size === 0) this.connections.delete(sessionId);
  }
}

// Redis layout, under REDIS_PREFIX, per session:
//   presence:<sessionId>:conns    hash "<userId> <connId>" → heartbeat deadline (ms, Redis clock)
//   presence:<sessionId>:cursors  hash userId → cursor JSON (written once per tick per instance)
// Every script reads the time from Redis, so instances with skewed clocks agree on what has
// expired, and each runs atomically, so the "went online/offline" answer goes to one caller.

const NOW = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

/** KEYS: conns. ARGV: userId, field, ttlMs. Answers 1 when the user was not online before. */
const TOUCH = `${NOW}
local user = ARGV[1] .. ' '
local wasOnline = 0
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  if string.sub(all[i], 1, #user) == user then
    if tonumber(all[i + 1]) > now then wasOnline = 1
    elseif all[i] ~= ARGV[2] then redis.call('HDEL', KEYS[1], all[i]) end
  end
end
redis.call('HSET', KEYS[1], ARGV[2], now + tonumber(ARGV[3]))
-- Garbage collection only: while anyone heartbeats, the key never expires.
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]) * 4)
return 1 - wasOnline`;

/** KEYS: conns, cursors. ARGV: userId, field. Answers 1 when that was the user's last live connection. */
const REMOVE = `${NOW}
if redis.call('HDEL', KEYS[1], ARGV[2]) == 0 then return 0 end
local user = ARGV[1] .. ' '
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  if string.sub(all[i], 1, #user) == user then
    if tonumber(all[i + 1]) > now then return 0 end
    redis.call('HDEL', KEYS[1], all[i])
  end
end
redis.call('HDEL', KEYS[2], ARGV[1])
return 1`;

/** KEYS: conns, cursors. Answers the users whose last connection expired. */
const SWEEP = `${NOW}
local all = redis.call('HGETALL', KEYS[1])
local dead, live = {}, {}
for i = 1, #all, 2 do
  local user = string.match(all[i], '^(%S+) ')
  if tonumber(all[i + 1]) > now then live[user] = true
  else
    redis.call('HDEL', KEYS[1], all[i])
    dead[user] = true
  end
end
local gone = {}
for user in pairs(dead) do
  if not live[user] then
    redis.call('HDEL', KEYS[2], user)
    table.insert(gone, user)
  end
end
return gone`;

/** KEYS: conns, cursors. Answers { online user ids, cursor JSONs of online users }. */
const STATE = `${NOW}
local all = redis.call('HGETALL', KEYS[1])
local online, seen = {}, {}
for i = 1, #all, 2 do
  local user = string.match(all[i], '^(%S+) ')
  if tonumber(all[i + 1]) > now and not seen[user] then
    seen[user] = true
    table.insert(online, user)
  end
end
local cursors = {}
local all2 = redis.call('HGETALL', KEYS[2])
for i = 1, #all2, 2 do
  if seen[all2[i]] then table.insert(cursors, all2[i + 1]) end
end
return { online, cursors }`;

/** KEYS: cursors. ARGV: key lifetime (ms), then userId, cursor JSON pairs. */
const SAVE_CURSORS = `redis.call('HSET', KEYS[1], unpack(ARGV, 2))
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[1]))`;

/**
 * The scripts as ioredis commands: sent by SHA (EVALSHA), the text only when Redis does not
 * have it yet (first call, or after a restart), not with every call as EVAL does.
 */
const SCRIPTS = {
  presenceTouch: { numberOfKeys: 1, lua: TOUCH },
  presenceRemove: { numberOfKeys: 2, lua: REMOVE },
  presenceSweep: { numberOfKeys: 2, lua: SWEEP },
  presenceState: { numberOfKeys: 2, lua: STATE },
  presenceSaveCursors: { numberOfKeys: 1, lua: SAVE_CURSORS },
} as const;

type ScriptCommands = { [name in keyof typeof SCRIPTS]: (...args: Array<string | number>) => Promise<unknown> };

/** Presence shared by every instance on the same Redis (see the layout above). */
export class RedisPresenceStore implements PresenceStore {
  private readonly scripts: ScriptCommands;

  constructor(
    redis: Redis,
    private readonly prefix: string,
  ) {
    // defineCommand on a shared client is idempotent: same names, same scripts.
    for (const [name, script] of Object.entries(SCRIPTS)) redis.defineCommand(name, script);
    this.scripts = redis as unknown as ScriptCommands;
  }

  async touch(sessionId: string, userId: string, connId: string, ttlMs: number): Promise<boolean> {
    const joined = await this.scripts.presenceTouch(this.key(sessionId, "conns"), userId, connectionField(userId, connId), ttlMs);
    return joined === 1;
  }

  async remove(sessionId: string, userId: string, connId: string): Promise<boolean> {
    const left = await this.scripts.presenceRemove(this.key(sessionId, "conns"), this.key(sessionId, "cursors"), userId, connectionField(userId, connId));
    return left === 1;
  }

  async sweep(sessionId: string): Promise<string[]> {
    return (await this.scripts.presenceSweep(this.key(sessionId, "conns"), this.key(sessionId, "cursors"))) as string[];
  }

  async state(sessionId: string): Promise<PresenceState> {
    const [online, cursors] = (await this.scripts.presenceState(this.key(sessionId, "conns"), this.key(sessionId, "cursors"))) as [string[], string[]];
    return { onlineUserIds: online, cursors: cursors.map((c) => JSON.parse(c) as CursorPosition) };
  }

  async saveCursors(sessionId: string, cursors: readonly CursorPosition[], ttlMs: number): Promise<void> {
    if (cursors.length === 0) return;
    await this.scripts.presenceSaveCursors(
      this.key(sessionId, "cursors"),
      ttlMs * 4, // garbage collection only, as for conns: a live user's cursor is saved again with every tick they move in
      ...cursors.flatMap((cursor) => [cursor.userId, JSON.stringify(cursor)]),
    );
  }

  private key(sessionId: string, part: string): string {
    return `${this.prefix}presence:${sessionId}:${part}`;
  }
}

/** User ids are UUIDs (no spaces), so the first space splits a field back into its user. */
function connectionField(userId: string, connId: string): string {
  return `${userId} ${connId}`;
}

/** Published when a user keeps flooding cursor moves past the limit (HARDENING.md: close 4429). */
export interface CursorAbuse {
  userId: string;
  sessionId: string;
}
