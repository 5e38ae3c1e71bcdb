/**
 * The seam for the DOCKER_EXEC strategy (docs/agent.md section 5): run a command
 * inside a container, stream its stdout, keep the tail of its stderr, report
 * its exit code. The Docker implementation (docker/docker_host.ts) plugs in
 * here; credentials travel only in `env`, never in argv.
 *
 * @module
 */
import type { Secret } from "../../../decrypt/secret.ts";

/** A command started in a container. */
export interface ExecProcess {
  /** The command's stdout. Cancelling it kills the command. */
  stdout: ReadableStream<Uint8Array>;
  /**
   * Resolves after stdout ended: the exit code (null when Docker cannot
   * tell, e.g. the container stopped) and the last 8 KiB of stderr.
   */
  exit: Promise<{ code: number | null; stderrTail: string }>;
  /** The command's process id inside the container, once known. */
  pid: Promise<number | null>;
}

/** Runs commands in containers. */
export interface ContainerExec {
  /**
   * Starts `argv` in `containerId` with `env` added to the container's own;
   * aborting `signal` kills it.
   */
  exec(
    containerId: string,
    argv: string[],
    env: Record<string, string | Secret<string>>,
    signal: AbortSignal,
  ): Promise<ExecProcess>;
}

/** What the agent needs to know about one container. */
export interface ContainerFacts {
  id: string;
  /** Without the leading "/". */
  name: string;
  image: string;
  running: boolean;
  labels: Record<string, string>;
  /** The container's own environment (secrets among them: never log it). */
  env: Map<string, string>;
  networks: string[];
  /** "5432/tcp" -> host port, 0 when only exposed. */
  ports: { containerPort: number; hostPort: number; protocol: string }[];
  /** Volumes and bind mounts: host path and path inside the container. */
  mounts: { source: string; destination: string }[];
}

/** Runs commands in containers and tells what a container is. */
export interface ContainerRuntime extends ContainerExec {
  /** The container by name or id; null when there is none. */
  inspect(nameOrId: string): Promise<ContainerFacts | null>;
}
