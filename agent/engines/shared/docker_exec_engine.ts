/**
 * What every DOCKER_EXEC engine shares (docs/agent.md section 5): find the
 * container, run short probes (version, size) and the dump tool through the
 * exec API, and judge a dump by the tool's exit code as well as by its
 * bytes. Each engine (docker_exec_postgres.ts, ...) only says which tool to
 * run with which environment.
 *
 * @module
 */
import { concatBytes } from "../../../decrypt/concat_bytes.ts";
import { Secret } from "../../../decrypt/secret.ts";
import { checkedDump, type CompletenessCheck } from "./checked_dump.ts";
import type { ContainerFacts, ContainerRuntime, ExecProcess } from "./container_exec.ts";
import {
  DumpError,
  type DumpFormat,
  type DumpOptions,
  type DumpStream,
  type Engine,
  type EngineName,
} from "./engine.ts";

/** What a DOCKER_EXEC target names (ConnectionConfig's fields). */
export interface ExecTarget {
  /** Container name or id. */
  container: string;
  /** Empty: the tool's default (the server in the same container). */
  host: string;
  /** 0: the engine's default. */
  port: number;
  database: string;
  username: string;
  password?: Secret<string>;
  /** MongoDB: the database that holds the user (admin unless a docker:// URL's ?authSource= says). */
  authSource?: string;
}

/** An exec environment: values are plain or secret. */
export type ExecEnv = Record<string, string | Secret<string>>;

/** The last lines of a tool's stderr, short enough for a run's error message. */
export function stderrSummary(stderr: string): string {
  const lines = stderr.trim().split("\n").filter((line) => line.trim() !== "");
  return lines.slice(-3).join(" | ").slice(-500);
}

/**
 * argv that runs the first of `programs` the container has, so one recipe
 * fits images that ship `mariadb-dump`, `mysqldump` or both.
 */
export function firstAvailable(programs: string[], args: string[]): string[] {
  for (const program of programs) {
    if (!/^[a-z0-9._-]+$/.test(program)) throw new Error(`bad program name ${program}`);
  }
  const script = `for p in ${programs.join(" ")}; do ` +
    'if command -v "$p" >/dev/null 2>&1; then exec "$p" "$@"; fi; done; ' +
    `echo "none of ${programs.join(", ")} is installed in the container" >&2; exit 127`;
  return ["sh", "-c", script, "sh", ...args];
}

/** The first value of `keys` set (non-empty) in a container's environment. */
export function firstEnv(facts: ContainerFacts, ...keys: string[]): string | undefined {
  for (const key of keys) {
    const value = facts.env.get(key);
    if (value) return value;
  }
  return undefined;
}

/** Like {@linkcode firstEnv}, for a password: wrapped so it cannot be logged. */
export function firstSecretEnv(
  facts: ContainerFacts,
  ...keys: string[]
): Secret<string> | undefined {
  const value = firstEnv(facts, ...keys);
  return value ? new Secret(value) : undefined;
}

/** Fails a dump whose tool exited non-zero, then asks `inner`. */
class ExitStatusCheck implements CompletenessCheck {
  constructor(
    readonly process: ExecProcess,
    readonly tool: string,
    readonly inner?: CompletenessCheck,
  ) {}

  update(chunk: Uint8Array): void {
    this.inner?.update(chunk);
  }

  async problem(): Promise<string | null> {
    const { code, stderrTail } = await this.process.exit;
    const detail = stderrSummary(stderrTail);
    if (code === null) {
      return `${this.tool} did not finish: the container stopped or the exec was lost` +
        (detail ? ` (${detail})` : "");
    }
    if (code !== 0) return `${this.tool} exited with status ${code}: ${detail || "no message"}`;
    return this.inner ? await this.inner.problem() : null;
  }
}

/** The shared half of a DOCKER_EXEC engine. */
export abstract class DockerExecEngine implements Engine {
  abstract readonly name: EngineName;
  abstract readonly format: DumpFormat;
  readonly #runtime: ContainerRuntime;
  protected readonly target: ExecTarget;
  #facts: Promise<ContainerFacts> | null = null;

  /** An engine for `target`, reached through `runtime`. */
  constructor(runtime: ContainerRuntime, target: ExecTarget) {
    this.#runtime = runtime;
    this.target = target;
  }

  abstract version(signal?: AbortSignal): Promise<string>;
  abstract estimateSize(signal?: AbortSignal): Promise<number | undefined>;
  abstract dump(signal: AbortSignal, options?: DumpOptions): Promise<DumpStream>;

  /** The target's container, which must exist and run. */
  protected container(): Promise<ContainerFacts> {
    this.#facts ??= this.#runtime.inspect(this.target.container).then((facts) => {
      if (!facts) throw new DumpError(`there is no container named ${this.target.container}`);
      if (!facts.running) throw new DumpError(`container ${facts.name} is not running`);
      return facts;
    });
    this.#facts.catch(() => (this.#facts = null));
    return this.#facts;
  }

  /**
   * Runs a short command and returns its stdout; throws naming `tool` and
   * its complaint.
   */
  protected async runText(
    tool: string,
    argv: string[],
    env: ExecEnv,
    signal?: AbortSignal,
  ): Promise<string> {
    const facts = await this.container();
    const process = await this.#runtime.exec(
      facts.id,
      argv,
      env,
      signal ?? new AbortController().signal,
    );
    const chunks: Uint8Array[] = [];
    for await (const chunk of process.stdout) chunks.push(chunk);
    const { code, stderrTail } = await process.exit;
    if (code !== 0) {
      throw new DumpError(
        `${tool} in container ${facts.name} failed` +
          (code === null ? "" : ` (status ${code})`) +
          `: ${stderrSummary(stderrTail) || "no message"}`,
      );
    }
    return new TextDecoder().decode(concatBytes(chunks));
  }

  /**
   * Starts the dump tool; the dump succeeds only when it exited 0 and
   * `check` (when given) accepts the bytes.
   */
  protected async runDump(
    tool: string,
    argv: string[],
    env: ExecEnv,
    signal: AbortSignal,
    options: {
      check?: CompletenessCheck;
      cleanup?: () => Promise<void>;
      /** Reshapes the tool's output before it is checked. */
      transform?: TransformStream<Uint8Array, Uint8Array>;
    } = {},
  ): Promise<DumpStream> {
    const facts = await this.container();
    const process = await this.#runtime.exec(facts.id, argv, env, signal);
    const output = options.transform
      ? process.stdout.pipeThrough(options.transform)
      : process.stdout;
    return checkedDump(output, new ExitStatusCheck(process, tool, options.check), {
      cancelled: `${tool} in container ${facts.name} was cancelled`,
      cleanup: options.cleanup,
    });
  }

  /** Runs a command for its effect, never cancelled (cleanups). */
  protected async runQuietly(argv: string[]): Promise<void> {
    await this.runText(argv[0], argv, {}).catch(() => {});
  }
}
