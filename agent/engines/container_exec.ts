/**
 * The seam for the DOCKER_EXEC strategy (agent.md section 5): run a command
 * inside a container, stream its stdout, keep the tail of its stderr, report
 * its exit code. The Docker implementation (dockerode's exec API) plugs in
 * here; credentials travel only in `env`, never in argv.
 *
 * @module
 */
import type { Secret } from "../../decrypt/secret.ts";

/** A command started in a container. */
export interface ExecProcess {
  /** The command's stdout. */
  stdout: ReadableStream<Uint8Array>;
  /** Resolves when it ended: the exit code and the last 8 KiB of stderr. */
  exit: Promise<{ code: number; stderrTail: string }>;
}

/** Runs commands in containers. */
export interface ContainerExec {
  /** Starts `argv` in `containerId` with `env` added to the container's own. */
  exec(
    containerId: string,
    argv: string[],
    env: Record<string, string | Secret<string>>,
    signal: AbortSignal,
  ): Promise<ExecProcess>;
}
