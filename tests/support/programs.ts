/**
 * Starts the real programs as child processes for whole-program tests: the
 * compiled binaries when BACKUPY_DECRYPT_BIN / BACKUPY_AGENT_BIN point at
 * them, otherwise the entry points under `deno run` with exactly the
 * permissions `deno task compile` bakes in.
 */
import { fileURLToPath } from "node:url";
import { assert, assertEquals } from "./assert.ts";
import {
  AGENT_PERMISSIONS as AGENT_FLAGS,
  DECRYPT_PERMISSIONS as DECRYPT_FLAGS,
  V8_FLAGS,
} from "../../scripts/program_flags.ts";

/** The repository root. */
export const ROOT: string = fileURLToPath(new URL("../../", import.meta.url));

/** How the compiled backupy-decrypt runs: its V8 flags and permissions. */
export const DECRYPT_PERMISSIONS = [V8_FLAGS, ...DECRYPT_FLAGS];

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

/** How the compiled backupy-agent runs: its V8 flags and permissions. */
export const AGENT_PERMISSIONS = [V8_FLAGS, ...AGENT_FLAGS];

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

/**
 * A local-mode backup of `target` into `dir` (`name.enc`, a new key in
 * `name.key`), then decrypted to `name.sql` with its SHA-256 checked; both
 * programs must succeed. `compression: "none"` makes and reads an
 * uncompressed backup. Returns the SQL file's path and the backup's output.
 */
export async function backupToSql(
  target: string,
  dir: string,
  name: string,
  options: { flags?: string[]; compression?: "none"; env?: Record<string, string> } = {},
): Promise<{ sql: string; backup: Finished }> {
  const [encrypted, key, sql] = [`${name}.enc`, `${name}.key`, `${name}.sql`].map((f) =>
    `${dir}/${f}`
  );
  const none = options.compression === "none";
  const backup = await runAgent([
    "backup",
    "--target",
    target,
    "--out",
    encrypted,
    "--generate-key",
    key,
    ...none ? ["--compression", "none"] : [],
    ...options.flags ?? [],
  ], options.env);
  assertEquals(backup.code, 0, backup.stderr);
  const sha = /--sha256 ([0-9a-f]{64})/.exec(backup.stderr)?.[1];
  assert(sha, `the backup names its SHA-256: ${backup.stderr}`);
  const decrypted = await runDecrypt([
    "--key-file",
    key,
    "--sha256",
    sha,
    "--in",
    encrypted,
    "--out",
    sql,
    ...none ? ["--skip-decompress"] : [],
  ]);
  assertEquals(decrypted.code, 0, decrypted.stderr);
  return { sql, backup };
}
