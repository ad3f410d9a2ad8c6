import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { describe, it } from "node:test";
import { syncEntityOf } from "../../src/services/sync.service";

/** Every SessionEventType of the committed schema, read from schema.graphql. */
function sessionEventTypes(): string[] {
  const schema = fs.readFileSync(path.join(__dirname, "../../../schema.graphql"), "utf8");
  const body = /enum SessionEventType \{([^}]*)\}/.exec(schema)?.[1] ?? "";
  return body
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => /^[A-Z_]+$/.test(line));
}

describe("syncPull's entities", () => {
  it("maps every timeline event type to board, chat, session or participant", () => {
    const types = sessionEventTypes();
    assert.equal(types.length, 45);
    const byEntity = new Map<string, string[]>();
    for (const type of types) byEntity.set(syncEntityOf(type), [...(byEntity.get(syncEntityOf(type)) ?? []), type]);
    assert.deepEqual([...byEntity.keys()].sort(), ["board", "chat", "participant", "session"]);
    assert.deepEqual(byEntity.get("chat"), ["CHAT_MESSAGE"]);
    assert.deepEqual(byEntity.get("session")?.sort(), [
      "RECORDING_START",
      "RECORDING_STOP",
      "SESSION_CREATED",
      "SESSION_END",
      "SESSION_EXPIRE",
      "SESSION_PAUSE",
      "SESSION_RESUME",
      "SESSION_START",
      "SESSION_TERMINATE",
    ]);
    for (const type of byEntity.get("board") ?? []) assert.match(type, /^(BOARD|SNAPSHOT)_/);
    for (const type of [
      "PARTICIPANT_KICK",
      "MEDIA_AUDIO_ON",
      "SCREEN_SHARE_STOP",
      "ROLE_CHANGE",
      "PERMISSION_UPDATE",
      "HAND_RAISE",
      "VIDEO_CALL_JOIN",
      "RECORDING_CONSENT",
    ]) {
      assert.equal(syncEntityOf(type), "participant", type);
    }
  });
});
