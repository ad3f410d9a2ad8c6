import { randomUUID } from "node:crypto";

/**
 * A request id (a UUID) as one flat string. Node builds randomUUID's answer from many pieces,
 * which an id held for a subscription's whole life keeps as a tree of them (~480 bytes
 * instead of ~56 per open subscription).
 */
export function newRequestId(): string {
  return Buffer.from(randomUUID(), "latin1").toString("latin1");
}
