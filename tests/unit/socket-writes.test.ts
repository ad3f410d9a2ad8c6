import assert from "node:assert/strict";
import { describe, it } from "node:test";
import WebSocket from "ws";
import { frameHeaderBytes, writeTextFrameHeader } from "../../src/realtime/socket-writes";

describe("prepared WebSocket frames", () => {
  it("have the header ws writes for a final unmasked text frame, at every length class", () => {
    for (const length of [0, 1, 125, 126, 127, 65_535, 65_536, 70_000]) {
      const payload = Buffer.alloc(length, 0x61);
      // ws's own framing (Sender is exported at run time, not in its types).
      const { Sender } = WebSocket as unknown as { Sender: { frame(data: Buffer, options: object): Buffer[] } };
      const [wsHeader] = Sender.frame(payload, { fin: true, opcode: 1, mask: false, readOnly: false, rsv1: false });
      const frame = Buffer.alloc(frameHeaderBytes(length) + length);
      writeTextFrameHeader(frame, length);
      assert.deepEqual(frame.subarray(0, frameHeaderBytes(length)), wsHeader, `length ${length}`);
    }
  });
});
