/**
 * Processes the harness forks: load generators and baseline servers. Each one is this file
 * run with `fork()`; the parent calls a scenario's exported `remote` functions in it by name
 * (`Worker.call`), so a scenario keeps its client side, its baseline server and its
 * orchestration in one file while each runs in its own process.
 */
import { fork, type ChildProcess } from "node:child_process";
import path from "node:path";
import { WrongAnswer } from "./measure";

interface Call {
  id: number;
  scenario: string;
  fn: string;
  args: unknown;
}

type Reply = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: string; wrong: boolean };

/** The functions a scenario runs in a forked process. */
export type RemoteFunctions = Record<string, (args: any) => Promise<unknown>>;

/** A forked process to run a scenario's `remote` functions in. */
export class Worker {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: any) => void; reject: (e: Error) => void }>();
  private exited = false;

  private constructor(
    readonly role: string,
    private readonly child: ChildProcess,
  ) {
    child.on("message", (reply: Reply) => {
      const waiter = this.pending.get(reply.id);
      if (!waiter) return;
      this.pending.delete(reply.id);
      if (reply.ok) waiter.resolve(reply.result);
      else waiter.reject(reply.wrong ? new WrongAnswer(reply.error) : new Error(`${role}: ${reply.error}`));
    });
    child.on("exit", (code, signal) => {
      this.exited = true;
      for (const waiter of this.pending.values()) waiter.reject(new Error(`${role} process exited (${signal ?? code})`));
      this.pending.clear();
    });
  }

  /** Forks a worker; `role` only names it in errors. */
  static start(role: string): Worker {
    const child = fork(__filename, [role], {
      stdio: ["ignore", "inherit", "inherit", "ipc"],
      execArgv: ["--max-old-space-size=4096"],
    });
    return new Worker(role, child);
  }

  get pid(): number {
    return this.child.pid as number;
  }

  call<T = any>(scenario: string, fn: string, args: unknown = {}): Promise<T> {
    if (this.exited) return Promise.reject(new Error(`${this.role} process is gone`));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.child.send({ id, scenario, fn, args } satisfies Call);
    });
  }

  async stop(): Promise<void> {
    if (this.exited) return;
    const gone = new Promise((resolve) => this.child.once("exit", resolve));
    this.child.kill("SIGKILL");
    await gone;
  }
}

// --- the forked side
if (require.main === module) {
  process.on("message", async (call: Call) => {
    let reply: Reply;
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const mod = require(path.join(__dirname, "..", "scenarios", call.scenario)) as { remote: RemoteFunctions };
      const fn = mod.remote[call.fn];
      if (!fn) throw new Error(`no remote function ${call.scenario}.${call.fn}`);
      reply = { id: call.id, ok: true, result: await fn(call.args) };
    } catch (err) {
      const message = err instanceof Error ? (err instanceof WrongAnswer ? err.message : (err.stack ?? err.message)) : String(err);
      reply = { id: call.id, ok: false, error: message, wrong: err instanceof WrongAnswer };
    }
    process.send?.(reply);
  });
  process.on("disconnect", () => process.exit(0));
}
