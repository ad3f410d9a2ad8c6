import { randomBytes } from "node:crypto";
import { after, before } from "node:test";
import { createClient, type Client } from "graphql-ws";
import WebSocket from "ws";
import { createApp, migrate, type App } from "../../src/app";
import { loadConfig, type Config } from "../../src/config";
import { openDatabase } from "../../src/db/open-database";
import type { Logger } from "../../src/infra/logger";
import type { Backend } from "./backends";

export interface GraphQLResponse<T = any> {
  status: number;
  headers: Headers;
  body: { data?: T; errors?: Array<{ message: string; path?: unknown; extensions?: Record<string, any> }> };
  text: string;
}

export interface TestServer {
  app: App;
  backend: Backend;
  /** http://127.0.0.1:PORT */
  url: string;
  graphqlUrl: string;
  wsUrl: string;
  env: Record<string, string>;
  /** POST a GraphQL operation over HTTP, with `token` as Bearer when given. */
  gql<T = any>(query: string, variables?: Record<string, unknown>, token?: string): Promise<GraphQLResponse<T>>;
  /** A graphql-ws client authenticated with `token` (lazy: false, so connection errors surface). */
  wsClient(token?: string, options?: Partial<Parameters<typeof createClient>[0]>): Client;
  stop(): Promise<void>;
}

/** The JWT_SECRET of every test server (shared servers included), for forging tokens. */
export const TEST_SECRET = "test-secret-that-is-long-enough-for-hs256-signing";

/**
 * Starts the real server (createApp, the same composition main.ts uses) on a free port of
 * 127.0.0.1 for `backend`: a fresh database with migrations applied, unless `share` names
 * a server whose database, Redis and secret this one should share (a second instance).
 */
export async function startTestServer(
  backend: Backend,
  options: { env?: Record<string, string>; share?: TestServer; logger?: Logger } = {},
): Promise<TestServer> {
  const env: Record<string, string> = options.share
    ? { ...options.share.env, ...options.env }
    : {
        DATA_DIR: ":memory:",
        JWT_SECRET: TEST_SECRET,
        LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? "silent",
        REDIS_PREFIX: `test-${randomBytes(4).toString("hex")}:`,
        // Off so no background job changes what a test is looking at; the job tests turn it on.
        JOBS_ENABLED: "false",
        ...(await connectionEnv(backend)),
        ...options.env,
      };
  const config: Config = { ...loadConfig({ ...env, PORT: "0", HOST: "127.0.0.1" }), passwordHashCost: { memoryKiB: 1024, iterations: 1 } };
  // Like src/main.ts: an embedded DATA_DIR on disk is locked while this server runs.
  const { db, lock } = await openDatabase(config, "server");
  let app: App;
  try {
    await migrate(db);
    app = await createApp(config, { db, logger: options.logger });
  } catch (err) {
    if (db.isInitialized) await db.destroy();
    lock?.release();
    throw err;
  }
  const url = (await app.listen()).replace("localhost", "127.0.0.1");
  const graphqlUrl = `${url}/graphql`;
  const wsUrl = graphqlUrl.replace(/^http/, "ws");
  const clients = new Set<Client>();
  return {
    app,
    backend,
    url,
    graphqlUrl,
    wsUrl,
    env,
    async gql(query, variables, token) {
      const res = await fetch(graphqlUrl, {
        method: "POST",
        headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: JSON.stringify({ query, variables }),
      });
      const text = await res.text();
      return { status: res.status, headers: res.headers, body: JSON.parse(text), text };
    },
    wsClient(token, clientOptions = {}) {
      const client = createClient({
        url: wsUrl,
        webSocketImpl: WebSocket,
        lazy: false,
        retryAttempts: 0,
        connectionParams: token ? { authorization: `Bearer ${token}` } : undefined,
        onNonLazyError: () => undefined,
        ...clientOptions,
      });
      clients.add(client);
      return client;
    },
    async stop() {
      await Promise.all([...clients].map(async (c) => c.dispose()));
      await app.stop();
      lock?.release();
    },
  };
}

/**
 * Two API instances on one database and Redis (the second shares the first's environment),
 * started before the suite's tests and handed to `use`, stopped after them: the realtime and
 * limits that must hold across instances. The suite skips `acrossInstances(backend)`.
 */
export function startTwoInstances(backend: Backend, use: (a: TestServer, b: TestServer) => void, env?: Record<string, string>): void {
  const started: TestServer[] = [];
  before(async () => {
    const a = await startTestServer(backend, { env });
    started.push(a);
    const b = await startTestServer(backend, { share: a });
    started.push(b);
    use(a, b);
  });
  after(async () => {
    for (const server of started.reverse()) await server.stop();
  });
}

async function connectionEnv(backend: Backend): Promise<Record<string, string>> {
  const [databaseUrl, redisUrl] = await Promise.all([backend.freshDatabase(), backend.redisUrl()]);
  return { ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}), ...(redisUrl ? { REDIS_URL: redisUrl } : {}) };
}

/** Registers a user through the API and answers its token and id. */
export async function registerUser(
  server: TestServer,
  role: "TUTOR" | "STUDENT" = "STUDENT",
  name = `${role.toLowerCase()}-${randomBytes(4).toString("hex")}`,
): Promise<{ token: string; id: string; email: string; password: string }> {
  const email = `${name}@example.test`;
  const password = "correct horse battery staple";
  const res = await server.gql(`mutation($input: RegisterInput!) { register(input: $input) { accessToken user { id } } }`, {
    input: { email, password, displayName: name, role },
  });
  if (!res.body.data) throw new Error(`register failed: ${res.text}`);
  return { token: res.body.data.register.accessToken, id: res.body.data.register.user.id, email, password };
}
