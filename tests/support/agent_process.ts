/**
 * The agent service as a child process, the way users run it: the
 * environment configures it; stderr carries its JSON log lines, which the
 * tests keep (and grep for secrets).
 */
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { agentArgv } from "./programs.ts";

/** Scrapes a running agent's /metrics; its address is in the state store. */
export async function scrapeMetrics(stateDir: string): Promise<string> {
  const db = new DatabaseSync(join(stateDir, "state.db"), { readOnly: true });
  const row = db.prepare("SELECT value FROM meta WHERE key = 'health_listen'").get() as {
    value: string;
  };
  db.close();
  return await (await fetch(`http://${row.value}/metrics`)).text();
}

/** Test-only timing overrides (see agent/service.ts ServiceTuning). */
export const FAST_TUNING = {
  session: {
    dialTimeoutMs: 3000,
    registerTimeoutMs: 2000,
    stableSessionMs: 60_000,
    deliveryConfirmMs: 300,
    backoff: { initialMs: 50, capMs: 400 },
  },
  runs: { progressIntervalMs: 200, retryDelayScale: 0.01 },
  shutdownGraceMs: 5000,
};

/** A running agent. */
export class AgentProcess implements AsyncDisposable {
  readonly lines: string[] = [];
  readonly #child: Deno.ChildProcess;
  readonly #reading: Promise<void>;
  readonly stateDir: string;
  #exited: Deno.CommandStatus | null = null;

  private constructor(child: Deno.ChildProcess, stateDir: string) {
    this.#child = child;
    this.stateDir = stateDir;
    this.#reading = (async () => {
      const decoder = new TextDecoderStream();
      let buffer = "";
      for await (const text of child.stderr.pipeThrough(decoder)) {
        buffer += text;
        const parts = buffer.split("\n");
        buffer = parts.pop()!;
        this.lines.push(...parts.filter((line) => line !== ""));
      }
      if (buffer) this.lines.push(buffer);
    })();
    child.status.then((status) => this.#exited = status);
  }

  /** Starts `backupy-agent run` with `env` (the state dir is created by the caller). */
  static start(
    env: Record<string, string>,
    stateDir: string,
    tuning: unknown = FAST_TUNING,
  ): AgentProcess {
    const [command, args] = agentArgv(["run"]);
    const child = new Deno.Command(command, {
      args,
      env: {
        BACKUPY_STATE_DIR: stateDir,
        BACKUPY_DEV_ALLOW_INSECURE: "true",
        BACKUPY_METRICS_LISTEN_ADDR: "127.0.0.1:0",
        BACKUPY_LOG_LEVEL: "debug",
        BACKUPY_TEST_TUNING: JSON.stringify(tuning),
        ...env,
      },
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    return new AgentProcess(child, stateDir);
  }

  /** The process id. */
  get pid(): number {
    return this.#child.pid;
  }

  /** Exit status once exited. */
  get exited(): Deno.CommandStatus | null {
    return this.#exited;
  }

  /** Parsed log lines. */
  logs(): Record<string, unknown>[] {
    return this.lines.flatMap((line) => {
      try {
        return [JSON.parse(line)];
      } catch {
        return [{ msg: line, level: "raw" }];
      }
    });
  }

  /** Sends `signal` and waits for the exit (SIGKILL after `timeoutMs`). */
  async stop(signal: Deno.Signal = "SIGTERM", timeoutMs = 20_000): Promise<Deno.CommandStatus> {
    try {
      this.#child.kill(signal);
    } catch {
      // Already exited.
    }
    const timer = setTimeout(() => {
      try {
        this.#child.kill("SIGKILL");
      } catch {
        // Gone.
      }
    }, timeoutMs);
    const status = await this.#child.status;
    clearTimeout(timer);
    await this.#reading;
    return status;
  }

  /**
   * Stops the agent if it still runs - SIGTERM first, so that what it holds
   * outside itself (a throwaway container, a scratch database) is released
   * even when a test failed midway; SIGKILL when it does not end in time.
   * Prints its log when BACKUPY_TEST_VERBOSE is set.
   */
  async [Symbol.asyncDispose](): Promise<void> {
    if (this.#exited === null) await this.stop("SIGTERM", 15_000);
    else await this.#reading;
    if (Deno.env.get("BACKUPY_TEST_VERBOSE")) console.error(this.lines.join("\n"));
  }
}
