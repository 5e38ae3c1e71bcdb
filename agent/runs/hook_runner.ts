/**
 * Pre- and post-hooks (docs/agent.md section 7): shell commands run with
 * `/bin/sh -c` in their own process group, so a timeout or a cancel kills
 * everything they started. Per-hook timeout 5 min (at most 15), 30 min per
 * run, the last 8 KiB of stdout and stderr kept for the log. At most 16
 * hooks per job, each at most 4 KiB. A hook written `docker:CONTAINER
 * <command>` runs inside that container through the exec API instead, with
 * the same limits; only the run's BACKUPY_* variables go with it.
 *
 * @module
 */
import type { ContainerExec } from "../engines/shared/container_exec.ts";
import { TailBuffer } from "../bytes/tail_buffer.ts";

/** Limits; tests shrink the timeouts. */
export interface HookLimits {
  perHookMs: number;
  perRunMs: number;
}

/** The spec's limits. */
export const DEFAULT_HOOK_LIMITS: HookLimits = { perHookMs: 5 * 60_000, perRunMs: 30 * 60_000 };
/** Largest hook command. */
export const MAX_HOOK_BYTES = 4096;
/** Most hooks per job (pre and post together). */
export const MAX_HOOKS = 16;

/** A hook failed (exit status, timeout, refused). */
export class HookError extends Error {}

/** What one hook did. */
export interface HookResult {
  command: string;
  code: number;
  timedOut: boolean;
  durationMs: number;
  stdoutTail: string;
  stderrTail: string;
}

/** Refuses hook lists past the limits; the message names the rule. */
export function validateHooks(pre: string[], post: string[]): void {
  if (pre.length + post.length > MAX_HOOKS) {
    throw new HookError(
      `the job has ${pre.length + post.length} hooks; at most ${MAX_HOOKS} are allowed`,
    );
  }
  for (const hook of [...pre, ...post]) {
    const bytes = new TextEncoder().encode(hook).length;
    if (bytes > MAX_HOOK_BYTES) {
      throw new HookError(`a hook is ${bytes} bytes long; at most ${MAX_HOOK_BYTES} are allowed`);
    }
  }
}

async function collect(stream: ReadableStream<Uint8Array>, tail: TailBuffer): Promise<void> {
  for await (const chunk of stream) tail.push(chunk);
}

/**
 * Runs one hook in its own process group with `env` added; kills the whole
 * group on timeout or when `signal` aborts.
 */
export async function runHook(
  command: string,
  env: Record<string, string>,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<HookResult> {
  const started = performance.now();
  const child = new Deno.Command("/bin/sh", {
    args: ["-c", command],
    // Only what the caller passes (hook_environment.ts strips the secrets).
    env,
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    // A new process group: the kill below reaches everything the hook started.
    detached: true,
  }).spawn();
  const stdout = new TailBuffer();
  const stderr = new TailBuffer();
  let timedOut = false;
  const killGroup = () => {
    try {
      Deno.kill(-child.pid, "SIGKILL");
    } catch {
      // Already gone.
    }
  };
  const timer = setTimeout(() => {
    timedOut = true;
    killGroup();
  }, timeoutMs);
  const onAbort = () => killGroup();
  signal.addEventListener("abort", onAbort, { once: true });
  try {
    const [status] = await Promise.all([
      child.status,
      collect(child.stdout, stdout),
      collect(child.stderr, stderr),
    ]);
    return {
      command,
      code: status.code,
      timedOut,
      durationMs: Math.round(performance.now() - started),
      stdoutTail: stdout.text(),
      stderrTail: stderr.text(),
    };
  } finally {
    clearTimeout(timer);
    signal.removeEventListener("abort", onAbort);
    killGroup(); // anything the hook left running in the background
  }
}

/** `docker:CONTAINER <command>`, split; null for a shell hook. */
export function parseDockerHook(hook: string): { container: string; command: string } | null {
  const match = /^docker:([a-zA-Z0-9][a-zA-Z0-9_.-]*)\s+(\S[\s\S]*)$/.exec(hook.trim());
  return match ? { container: match[1], command: match[2] } : null;
}

/**
 * Runs a docker hook's command with `sh -c` inside its container; a timeout
 * or `signal` kills it there (docker_host.ts kills by process group).
 */
export async function runDockerHook(
  hook: { container: string; command: string },
  containers: ContainerExec | undefined,
  env: Record<string, string>,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<HookResult> {
  const started = performance.now();
  const result = (code: number, timedOut: boolean, stdoutTail: string, stderrTail: string) => ({
    command: `docker:${hook.container} ${hook.command}`,
    code,
    timedOut,
    durationMs: Math.round(performance.now() - started),
    stdoutTail,
    stderrTail,
  });
  if (!containers) {
    return result(
      127,
      false,
      "",
      "docker hooks need the Docker engine, which is not reachable or disabled",
    );
  }
  const stop = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    stop.abort();
  }, timeoutMs);
  const onAbort = () => stop.abort();
  signal.addEventListener("abort", onAbort, { once: true });
  // The run's outcome only: the host's own environment stays on the host.
  const runEnv = Object.fromEntries(
    Object.entries(env).filter(([key]) => key.startsWith("BACKUPY_")),
  );
  try {
    const process = await containers.exec(
      hook.container,
      ["sh", "-c", hook.command],
      runEnv,
      stop.signal,
    );
    const stdout = new TailBuffer();
    await collect(process.stdout, stdout).catch(() => {});
    const { code, stderrTail } = await process.exit;
    return result(code ?? (timedOut ? 137 : 255), timedOut, stdout.text(), stderrTail);
  } catch (error) {
    return result(timedOut ? 137 : 126, timedOut, "", (error as Error).message);
  } finally {
    clearTimeout(timer);
    signal.removeEventListener("abort", onAbort);
  }
}

/**
 * Runs `hooks` in order within the run's hook budget. `stopOnFailure` (pre
 * hooks) throws {@linkcode HookError} at the first failure; otherwise every
 * hook runs and the failures are returned.
 */
export async function runHooks(
  hooks: string[],
  options: {
    env: Record<string, string>;
    signal: AbortSignal;
    limits: HookLimits;
    budget: { remainingMs: number };
    stopOnFailure: boolean;
    onResult?: (result: HookResult) => void;
    /** For `docker:` hooks. */
    containers?: ContainerExec;
  },
): Promise<HookResult[]> {
  const failures: HookResult[] = [];
  for (const [index, hook] of hooks.entries()) {
    if (options.signal.aborted) throw new HookError("hooks cancelled");
    if (options.budget.remainingMs <= 0) {
      throw new HookError("the run's 30 minute hook budget is used up");
    }
    const timeout = Math.min(options.limits.perHookMs, options.budget.remainingMs);
    const dockerHook = parseDockerHook(hook);
    const result = dockerHook
      ? await runDockerHook(dockerHook, options.containers, options.env, timeout, options.signal)
      : await runHook(hook, options.env, timeout, options.signal);
    options.budget.remainingMs -= result.durationMs;
    options.onResult?.(result);
    if (result.code !== 0 || result.timedOut) {
      failures.push(result);
      if (options.stopOnFailure) {
        const why = result.timedOut
          ? `timed out after ${Math.round(timeout / 1000)} s`
          : `exited with ${result.code}`;
        throw new HookError(
          `hook ${index + 1} ${why}${
            result.stderrTail ? `: ${result.stderrTail.trim().slice(-500)}` : ""
          }`,
        );
      }
    }
  }
  return failures;
}
