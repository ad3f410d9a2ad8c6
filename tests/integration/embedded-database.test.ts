import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, it } from "node:test";
import { PGlite } from "@electric-sql/pglite";
import { DataSource } from "typeorm";
import { createDataSource } from "../../src/db/data-source";
import { DataDirLock } from "../../src/db/data-dir-lock";

const root = path.resolve(__dirname, "../../..");

/**
 * Twenty concurrent transactions on one DataSource: the even ones insert and commit, the
 * odd ones insert and then fail (rollback). Answers the values that survived.
 */
async function concurrentWorkload(db: DataSource): Promise<number[]> {
  await db.query("CREATE TABLE IF NOT EXISTS workload (v int NOT NULL)");
  await Promise.all(
    Array.from({ length: 20 }, (_, i) =>
      db
        .transaction(async (tx) => {
          await tx.query("INSERT INTO workload (v) VALUES ($1)", [i]);
          await tx.query("SELECT count(*) FROM workload");
          if (i % 2 === 1) throw new Error("roll back");
        })
        .catch(() => undefined),
    ),
  );
  const rows: Array<{ v: number }> = await db.query("SELECT v FROM workload ORDER BY v");
  return rows.map((r) => r.v);
}

const committed = Array.from({ length: 10 }, (_, i) => i * 2);

/** What typeorm-pglite does: every query runner gets the one connection at once. */
function unserializedDataSource(): DataSource {
  const pglite = PGlite.create();
  const client = {
    on() {},
    removeListener() {},
    async query(text: string, params?: unknown) {
      const db = await pglite;
      if (Array.isArray(params) && params.length) return db.query(text, params);
      const results = await db.exec(text);
      return results[results.length - 1];
    },
  };
  const pool = {
    on() {},
    connect(cb: (err: null, c: typeof client, release: () => void) => void) {
      cb(null, client, () => undefined);
    },
    end(cb: () => void) {
      void pglite.then((db) => db.close()).then(cb);
    },
  };
  return new DataSource({
    type: "postgres",
    driver: {
      Pool: function () {
        return pool;
      },
    },
    installExtensions: false,
  } as never);
}

describe("embedded database (PGlite)", () => {
  it("loses committed writes when transactions share the connection unserialized (the hazard)", async () => {
    const db = unserializedDataSource();
    await db.initialize();
    try {
      assert.notDeepEqual(await concurrentWorkload(db), committed);
    } finally {
      await db.destroy();
    }
  });

  it("keeps exactly the committed writes of concurrent transactions, because the pool serializes them", async () => {
    const db = createDataSource({ dataDir: ":memory:", statementTimeoutMs: 0, databasePoolSize: 1 });
    await db.initialize();
    try {
      assert.deepEqual(await concurrentWorkload(db), committed);
    } finally {
      await db.destroy();
    }
  });

  it("persists across restarts in DATA_DIR", async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "classroom-data-"));
    try {
      const first = createDataSource({ dataDir, statementTimeoutMs: 0, databasePoolSize: 1 });
      await first.initialize();
      await first.query("CREATE TABLE kept (v text)");
      await first.query("INSERT INTO kept VALUES ($1)", ["still here"]);
      await first.destroy();
      const second = createDataSource({ dataDir, statementTimeoutMs: 0, databasePoolSize: 1 });
      await second.initialize();
      assert.deepEqual(await second.query("SELECT v FROM kept"), [{ v: "still here" }]);
      await second.destroy();
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe("DATA_DIR lock", () => {
  const tempDir = () => fs.mkdtempSync(path.join(os.tmpdir(), "classroom-lock-"));

  it("lets one holder in, refuses a second, and frees on release", () => {
    const dir = tempDir();
    const lock = DataDirLock.acquire(dir, "server");
    assert.throws(() => DataDirLock.acquire(dir, "admin"), new RegExp(`in use by process ${process.pid} \\(server\\)`));
    lock.release();
    DataDirLock.acquire(dir, "admin").release();
    fs.rmSync(dir, { recursive: true });
  });

  it("takes over a lock left by a process that is gone", () => {
    const dir = tempDir();
    const dead = spawnSync(process.execPath, ["-e", "console.log(process.pid)"]).stdout.toString().trim();
    fs.writeFileSync(path.join(dir, "classroom.lock"), JSON.stringify({ pid: Number(dead), purpose: "server" }));
    DataDirLock.acquire(dir, "server").release();
    fs.rmSync(dir, { recursive: true });
  });

  it("makes the server, migrate and admin commands refuse while another process holds it", () => {
    const dir = tempDir();
    const lock = DataDirLock.acquire(dir, "server");
    try {
      for (const script of ["dist/src/main.js", "dist/src/cli/migrate.js", "dist/src/cli/admin.js"]) {
        const run = spawnSync(process.execPath, [path.join(root, script), "someone@example.test"], {
          env: { ...process.env, DATA_DIR: dir, PORT: "0", DATABASE_URL: "", REDIS_URL: "" },
          encoding: "utf8",
          timeout: 30_000,
        });
        assert.equal(run.status, 1, `${script}: ${run.stderr}`);
        assert.match(run.stderr, /is in use by process \d+ \(server\)/, script);
      }
    } finally {
      lock.release();
      fs.rmSync(dir, { recursive: true });
    }
  });
});
