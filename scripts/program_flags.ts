/**
 * The flags each program runs with, in one place: `deno task compile` bakes
 * them into the binaries and the tests run the programs from source with
 * the same ones. (deno.json's `agent` and `decrypt` tasks spell them out
 * again: a task cannot import.)
 *
 * @module
 */

/**
 * V8 flags for both programs: `gc` exposed and the young generation capped,
 * so long streams keep memory flat (decrypt/garbage_release_stream.ts).
 */
export const V8_FLAGS = "--v8-flags=--expose-gc,--max-semi-space-size=2";

/** What backupy-agent may do: network, files, env, hooks and docker, host metrics. */
export const AGENT_PERMISSIONS = [
  "--allow-net",
  "--allow-read",
  "--allow-write",
  "--allow-env",
  "--allow-run",
  "--allow-sys",
] as const;

/** What backupy-decrypt may do: files only, no network, no env, no subprocess. */
export const DECRYPT_PERMISSIONS = ["--allow-read", "--allow-write"] as const;
