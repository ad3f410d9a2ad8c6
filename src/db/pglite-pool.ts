import { EventEmitter } from "node:events";
import { PGlite, types, type Results } from "@electric-sql/pglite";
import { endWithError, startStatementSpan, tracingOn } from "../infra/tracing";

/**
 * A `pg`-compatible Pool over one PGlite instance, for TypeORM's postgres driver.
 *
 * PGlite is a single connection. TypeORM checks a client out of the pool for every query
 * runner and runs BEGIN … COMMIT on it; if two query runners shared the connection, the
 * statements of concurrent requests would interleave inside each other's transactions
 * (one request's ROLLBACK undoing another's writes). So the pool hands its one client to
 * one query runner at a time, in arrival order, exactly like a real pool of size 1.
 *
 * typeorm-pglite does the same job with a process-wide singleton whose pool hands the
 * connection to everybody at once; this adapter is per DataSource and serializes.
 */
export class PGlitePool extends EventEmitter {
  private readonly db: Promise<PGlite>;
  private readonly waiters: Array<() => void> = [];
  private busy = false;
  private closed = false;

  constructor(options: { dataDir?: string; acquireTimeoutMs?: number }) {
    super();
    this.acquireTimeoutMs = options.acquireTimeoutMs ?? 30_000;
    // Parse int8 as text, as `pg` does, so both backends hand TypeORM the same values. A bytea
    // parameter as hex by Node's encoder: PGlite's own maps every byte through JavaScript
    // strings, seconds for a keyframe of a few MB.
    this.db = PGlite.create(options.dataDir, {
      parsers: { [types.INT8]: (value: string) => value },
      serializers: { [types.BYTEA]: (value: Uint8Array) => `\\x${Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("hex")}` },
    });
    // An unobserved rejection here would crash the process before connect() reports it.
    this.db.catch(() => undefined);
  }

  private readonly acquireTimeoutMs: number;

  /** pg's Pool.totalCount: the one connection (db_pool_connections reads these three). */
  get totalCount(): number {
    return this.closed ? 0 : 1;
  }

  /** pg's Pool.idleCount: the connection unless a query runner or a statement holds it. */
  get idleCount(): number {
    return this.closed || this.busy ? 0 : 1;
  }

  /** pg's Pool.waitingCount: query runners and statements waiting for the connection. */
  get waitingCount(): number {
    return this.waiters.length;
  }

  /** pg's Pool.connect(callback): the client is exclusive until `release` is called. */
  connect(callback: (err: Error | null, client: PGliteClient | null, release: (err?: unknown) => void) => void): void {
    this.acquire()
      .then(async () => {
        const db = await this.db;
        let released = false;
        const release = () => {
          if (released) return;
          released = true;
          this.releaseConnection();
        };
        callback(null, new PGliteClient(db), release);
      })
      .catch((err: Error) => callback(err, null, () => undefined));
  }

  /** pg's Pool.query: one statement, serialized with the transactions of checked-out clients. */
  async query(text: string, params?: unknown[]) {
    await this.acquire();
    try {
      return await new PGliteClient(await this.db).query(text, params);
    } finally {
      this.releaseConnection();
    }
  }

  /** pg's Pool.end(callback). */
  end(callback?: (err?: Error | null) => void): void {
    this.closed = true;
    this.db
      .then((db) => db.close())
      .then(
        () => callback?.(null),
        (err: Error) => callback?.(err),
      );
  }

  private acquire(): Promise<void> {
    if (this.closed) return Promise.reject(new Error("The embedded database is closed"));
    if (!this.busy) {
      this.busy = true;
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      const grant = () => {
        clearTimeout(timer);
        resolve();
      };
      // A transaction that waits on a query outside itself would wait here forever:
      // fail loudly instead of hanging the request.
      const timer = setTimeout(() => {
        const index = this.waiters.indexOf(grant);
        if (index >= 0) this.waiters.splice(index, 1);
        reject(new Error(`The embedded database was busy for ${this.acquireTimeoutMs} ms`));
      }, this.acquireTimeoutMs);
      this.waiters.push(grant);
    });
  }

  private releaseConnection(): void {
    const next = this.waiters.shift();
    if (next) next();
    else this.busy = false;
  }
}

/** The slice of pg's Client that TypeORM's query runner uses. */
class PGliteClient extends EventEmitter {
  constructor(private readonly db: PGlite) {
    super();
  }

  /** pg's client.query, promise or callback style (TypeORM uses both). */
  query(text: string, params?: unknown[] | Callback, callback?: Callback): Promise<unknown> {
    const cb = typeof params === "function" ? params : callback;
    const values = Array.isArray(params) ? params : undefined;
    const result = tracingOn() ? this.runTraced(text, values) : this.run(text, values);
    if (cb)
      result.then(
        (r) => cb(null, r),
        (err: Error) => cb(err),
      );
    return result;
  }

  /** `run` inside a statement span, as instrumentation-pg traces a real Postgres's statements. */
  private runTraced(text: string, params?: unknown[]) {
    const span = startStatementSpan(text);
    if (!span) return this.run(text, params);
    return this.run(text, params).then(
      (result) => {
        span.end();
        return result;
      },
      (err: unknown) => {
        endWithError(span, err);
        throw err;
      },
    );
  }

  private async run(text: string, params?: unknown[]) {
    if (params && params.length > 0) return withRowCount(await this.db.query(text, params));
    // exec runs several statements (migrations); pg answers with the last one's result.
    const results = await this.db.exec(text);
    return withRowCount(results[results.length - 1] ?? { rows: [], fields: [] });
  }
}

type Callback = (err: Error | null, result?: unknown) => void;

/** pg's rowCount: rows changed by INSERT/UPDATE/DELETE, rows returned by SELECT. */
function withRowCount(result: Results) {
  const reported = (result as Results & { rowCount?: number }).rowCount;
  return { ...result, rowCount: reported ?? result.affectedRows ?? result.rows.length };
}

/** What TypeORM loads in place of the `pg` module (`DataSourceOptions.driver`). */
export function pgliteDriver(pool: PGlitePool) {
  return {
    Pool: function PoolFactory() {
      return pool;
    },
  };
}
