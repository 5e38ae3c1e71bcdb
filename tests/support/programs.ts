/**
 * Starts the real programs as child processes for whole-program tests: the
 * compiled binaries when BACKUPY_DECRYPT_BIN / BACKUPY_AGENT_BIN point at
 * them, otherwise the entry points under `deno run` with exactly the
 * permissions `deno task compile` bakes in.
 */
import { fileURLToPath } from "node:url";

/** The repository root. */
export const ROOT: string = fileURLToPath(new URL("../../", import.meta.url));

/**
 * How the compiled backupy-decrypt runs: files only, and `gc` exposed so
 * long streams can release dead buffers (decrypt/garbage_release_stream.ts).
 */
export const DECRYPT_PERMISSIONS = [
  "--v8-flags=--expose-gc,--max-semi-space-size=2",
  "--allow-read",
  "--allow-write",
];

/** Command and arguments that start backupy-decrypt with `args`. */
export function decryptArgv(args: string[]): [string, string[]] {
  const binary = Deno.env.get("BACKUPY_DECRYPT_BIN");
  if (binary) return [binary, args];
  return [
    Deno.execPath(),
    ["run", "--quiet", ...DECRYPT_PERMISSIONS, `${ROOT}decrypt/main.ts`, ...args],
  ];
}

/** What a finished child process left. */
export interface Finished {
  code: number;
  signal: Deno.Signal | null;
  stdout: Uint8Array;
  stderr: string;
}

/** Runs backupy-decrypt to completion, feeding `stdin` when given. */
export async function runDecrypt(
  args: string[],
  options: { stdin?: Uint8Array; cwd?: string } = {},
): Promise<Finished> {
  const [command, argv] = decryptArgv(args);
  const child = new Deno.Command(command, {
    args: argv,
    cwd: options.cwd,
    stdin: options.stdin ? "piped" : "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (options.stdin) {
    const writer = child.stdin.getWriter();
    await writer.write(options.stdin).catch(() => {});
    await writer.close().catch(() => {});
  }
  const output = await child.output();
  return {
    code: output.code,
    signal: output.signal,
    stdout: output.stdout,
    stderr: new TextDecoder().decode(output.stderr),
  };
}

/** The permissions the compiled backupy-agent has. */
export const AGENT_PERMISSIONS = [
  "--v8-flags=--expose-gc,--max-semi-space-size=2",
  "--allow-net",
  "--allow-read",
  "--allow-write",
  "--allow-env",
  "--allow-run",
  "--allow-sys",
];

/** Command and arguments that start backupy-agent with `args`. */
export function agentArgv(args: string[]): [string, string[]] {
  const binary = Deno.env.get("BACKUPY_AGENT_BIN");
  if (binary) return [binary, args];
  return [Deno.execPath(), [
    "run",
    "--quiet",
    ...AGENT_PERMISSIONS,
    `${ROOT}agent/main.ts`,
    ...args,
  ]];
}

/** Runs backupy-agent to completion with `env` added. */
export async function runAgent(
  args: string[],
  env: Record<string, string> = {},
  options: { cwd?: string } = {},
): Promise<Finished> {
  const [command, argv] = agentArgv(args);
  const output = await new Deno.Command(command, {
    args: argv,
    env,
    cwd: options.cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  return {
    code: output.code,
    signal: output.signal,
    stdout: output.stdout,
    stderr: new TextDecoder().decode(output.stderr),
  };
}
