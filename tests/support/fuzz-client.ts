import http from "node:http";
import type { GraphQLResponse, TestServer } from "./test-server";

export interface FuzzResponse {
  status: number;
  text: string;
  /** The parsed body, or undefined when it is not JSON. */
  body: GraphQLResponse["body"] | undefined;
}

/**
 * POSTs to the test server's /graphql on a fresh connection each time. The fuzzer and the
 * server share one event loop: after a call that keeps it busy (a 200 000-character string,
 * JSON 20 000 levels deep), a pooled keep-alive socket that the server's keep-alive timer
 * closes at the same moment fails with ECONNRESET, which says nothing about the server.
 */
export function postGraphQL(server: TestServer, body: string, token?: string): Promise<FuzzResponse> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      server.graphqlUrl,
      {
        method: "POST",
        agent: false,
        headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("error", reject);
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          let parsed: FuzzResponse["body"];
          try {
            parsed = JSON.parse(text);
          } catch {
            parsed = undefined;
          }
          resolve({ status: res.statusCode ?? 0, text, body: parsed });
        });
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

/** An operation with JSON-serializable variables, like TestServer.gql, on a fresh connection. */
export async function fuzzGql(server: TestServer, query: string, variables: Record<string, unknown> = {}, token?: string): Promise<FuzzResponse> {
  return postGraphQL(server, JSON.stringify({ query, variables }), token);
}
