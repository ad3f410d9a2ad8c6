import type { Response } from "express";

/**
 * Answers `status` with an error shaped as GraphQL's (`{ errors: [{ message, extensions:
 * { code, …details } }] }`), so a client reads a refusal from any route, GraphQL or not, the
 * same way; never an HTML page.
 */
export function sendJsonError(res: Response, status: number, code: string, message: string, details: Record<string, unknown> = {}): void {
  res
    .status(status)
    .type("application/json")
    .send(JSON.stringify({ errors: [{ message, extensions: { code, ...details } }] }));
}
