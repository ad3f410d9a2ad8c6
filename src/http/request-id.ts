import { randomUUID } from "node:crypto";
import type { RequestHandler, Response } from "express";

/**
 * Gives every HTTP request an id (O1): the caller's `X-Request-Id` when it is a plausible one
 * (8–64 word characters, dots or dashes: a proxy's or a client's correlation id), else a new
 * UUID. Answered in the `X-Request-Id` header, carried into the GraphQL context and every log
 * line written for the request, and into an INTERNAL_SERVER_ERROR's `extensions.requestId`,
 * so a user's report finds its lines.
 */
export const requestIds: RequestHandler = (req, res, next) => {
  const given = req.headers["x-request-id"];
  const id = typeof given === "string" && /^[\w.-]{8,64}$/.test(given) ? given : randomUUID();
  res.locals.requestId = id;
  res.setHeader("x-request-id", id);
  next();
};

/** The id requestIds gave this request's response. */
export function requestIdOf(res: Response): string {
  return res.locals.requestId as string;
}
