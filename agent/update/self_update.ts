/**
 * Self-update (docs/agent.md section 11), in three steps:
 *
 * 1. {@linkcode prepareUpdate}, while the agent keeps working: download
 *    `binary_url` into the state directory (size-limited), check its SHA-256
 *    and its ECDSA P-256 signature against the key built into the agent,
 *    and stage it beside the running binary.
 * 2. The service shuts down as for SIGTERM (runs finish, the outbox stays).
 * 3. {@linkcode superviseUpdate}: the staged binary atomically replaces the
 *    running one (the old one kept as `.previous`) and is started with the
 *    same arguments and environment. Deno cannot exec(2), so this process
 *    stays as its parent - forwarding SIGTERM/SIGINT and exiting with its
 *    status - which also keeps a service manager's main PID valid. If the
 *    new agent has not sent a heartbeat and answered its health endpoint
 *    within 60 s, it is killed, the previous binary is put back, and this
 *    process runs the service again itself.
 *
 * @module
 */
import { dirname, join } from "node:path";
import type { SelfUpdate } from "@backupy/gen/backup/v1/server_to_agent_pb.ts";
import { healthProblem } from "../health/health_problem.ts";
import type { Logger } from "../log/logger.ts";
import { RELEASE_PUBLIC_KEY } from "./release_key.ts";
import { importPublicKey, SignatureFormatError, verifySignature } from "./update_signature.ts";

/** The largest binary accepted. */
const MAX_BINARY_BYTES = 512 * 1024 * 1024;

/** Where and how an update happens. */
export interface UpdateSetup {
  /** The binary this agent runs as. */
  binaryPath: string;
  /** Base64 SPKI of the release key. */
  publicKey: string;
  /** Time the new agent gets to become healthy. */
  healthTimeoutMs: number;
  /** Tests only: this machine itself may look like a container. */
  ignoreContainer?: boolean;
}

/** Why an update was refused; the message goes to the server's Ack. */
export class UpdateRejected extends Error {}

/**
 * The setup for this process, or null when it is not a standalone binary.
 * Running from source (never in a compiled binary), BACKUPY_TEST_SELF_UPDATE
 * may name a stand-in binary, a test key, a shorter health timeout and that
 * the machine's container markers do not count: the tests cannot compile a
 * binary or hold the release key, and may run inside a container.
 */
export function updateSetup(): UpdateSetup | null {
  if (Deno.build.standalone) {
    return { binaryPath: Deno.execPath(), publicKey: RELEASE_PUBLIC_KEY, healthTimeoutMs: 60_000 };
  }
  const test = Deno.env.get("BACKUPY_TEST_SELF_UPDATE");
  if (!test) return null;
  const parsed = JSON.parse(test) as Partial<UpdateSetup>;
  return {
    binaryPath: String(parsed.binaryPath),
    publicKey: String(parsed.publicKey),
    healthTimeoutMs: Number(parsed.healthTimeoutMs ?? 60_000),
    ignoreContainer: parsed.ignoreContainer === true,
  };
}

/** A verified binary, staged beside the one it replaces. */
export interface Handoff {
  binaryPath: string;
  stagedPath: string;
  previousPath: string;
  targetVersion: string;
}

/** Streams `url` into `path` (at most MAX_BINARY_BYTES); returns the byte count. */
async function download(url: string, path: string): Promise<number> {
  let response: Response;
  try {
    response = await fetch(url, { redirect: "follow", signal: AbortSignal.timeout(10 * 60_000) });
  } catch (error) {
    throw new UpdateRejected(`downloading the binary failed: ${(error as Error).message}`);
  }
  if (!response.ok || !response.body) {
    await response.body?.cancel();
    throw new UpdateRejected(`downloading the binary failed: HTTP ${response.status}`);
  }
  const declared = Number(response.headers.get("content-length") ?? 0);
  if (declared > MAX_BINARY_BYTES) {
    await response.body.cancel();
    throw new UpdateRejected(
      `the binary is ${declared} bytes; at most ${MAX_BINARY_BYTES} are accepted`,
    );
  }
  const file = await Deno.open(path, { write: true, create: true, truncate: true, mode: 0o700 });
  let bytes = 0;
  try {
    for await (const chunk of response.body) {
      bytes += chunk.length;
      if (bytes > MAX_BINARY_BYTES) {
        throw new UpdateRejected(`the binary is larger than ${MAX_BINARY_BYTES} bytes`);
      }
      await file.write(chunk);
    }
    await file.sync();
  } finally {
    file.close();
  }
  return bytes;
}

/**
 * Downloads, checks and stages the binary `command` names. Throws
 * {@linkcode UpdateRejected} with the reason for the server; leaves no file
 * behind then.
 */
export async function prepareUpdate(
  command: SelfUpdate,
  setup: UpdateSetup,
  stateDir: string,
  allowInsecure: boolean,
  log: Logger,
): Promise<Handoff> {
  let url: URL;
  try {
    url = new URL(command.binaryUrl);
  } catch {
    throw new UpdateRejected("binary_url is not a URL");
  }
  if (url.protocol !== "https:" && !(allowInsecure && url.protocol === "http:")) {
    throw new UpdateRejected("binary_url must be https://");
  }
  const expected = command.sha256.toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(expected)) {
    throw new UpdateRejected("sha256 must be 64 hex characters");
  }
  if (command.cosignSignature.length === 0) {
    throw new UpdateRejected("the update carries no signature");
  }

  const dir = join(stateDir, "update");
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  const downloaded = join(dir, "backupy-agent.download");
  const staged = join(dirname(setup.binaryPath), `.${crypto.randomUUID()}.backupy-agent.new`);
  try {
    log.info("self-update: downloading", { target_version: command.targetVersion, host: url.host });
    const bytes = await download(url.href, downloaded);
    // Web Crypto verifies a message in memory: the binary is read once, for both checks.
    const binary = await Deno.readFile(downloaded);
    const sha256 = new Uint8Array(await crypto.subtle.digest("SHA-256", binary)).toHex();
    if (sha256 !== expected) {
      throw new UpdateRejected(`the binary's SHA-256 is ${sha256}, not the expected ${expected}`);
    }
    let valid: boolean;
    try {
      valid = await verifySignature(
        await importPublicKey(setup.publicKey),
        command.cosignSignature,
        binary,
      );
    } catch (error) {
      if (error instanceof SignatureFormatError) throw new UpdateRejected(error.message);
      throw error;
    }
    if (!valid) {
      throw new UpdateRejected("the binary's signature does not verify with the release key");
    }
    // Staged on the binary's own file system, so the swap is one rename.
    await Deno.copyFile(downloaded, staged);
    const mode = (await Deno.stat(setup.binaryPath)).mode ?? 0o755;
    await Deno.chmod(staged, mode & 0o7777 | 0o500);
    log.info("self-update: verified", { target_version: command.targetVersion, bytes });
    return {
      binaryPath: setup.binaryPath,
      stagedPath: staged,
      previousPath: `${setup.binaryPath}.previous`,
      targetVersion: command.targetVersion,
    };
  } catch (error) {
    await Deno.remove(staged).catch(() => {});
    if (error instanceof UpdateRejected) throw error;
    throw new UpdateRejected(`the update failed: ${(error as Error).message}`);
  } finally {
    await Deno.remove(downloaded).catch(() => {});
  }
}

/** What became of an update. */
export type UpdateOutcome =
  | { kind: "exited"; code: number }
  | { kind: "rolled-back"; reason: string };

/**
 * Swaps the binaries, runs the new one with `args`, and watches it (see the
 * module comment). "exited": the new agent ran and ended with `code`;
 * "rolled-back": it never became healthy and the previous binary is back.
 */
export async function superviseUpdate(
  handoff: Handoff,
  args: string[],
  stateDir: string,
  healthTimeoutMs: number,
  log: Logger,
): Promise<UpdateOutcome> {
  await Deno.copyFile(handoff.binaryPath, handoff.previousPath);
  await Deno.rename(handoff.stagedPath, handoff.binaryPath);
  log.info("self-update: starting the new binary", { target_version: handoff.targetVersion });
  const started = Date.now();
  const child = new Deno.Command(handoff.binaryPath, {
    args,
    env: { BACKUPY_UPDATED_FROM_PID: String(Deno.pid) },
    stdin: "null",
    stdout: "inherit",
    stderr: "inherit",
  }).spawn();
  let exited: Deno.CommandStatus | null = null;
  const status = child.status.then((s) => (exited = s));
  const forward: [Deno.Signal, () => void][] = (["SIGTERM", "SIGINT"] as const).map((signal) => [
    signal,
    () => {
      try {
        child.kill(signal);
      } catch {
        // already gone
      }
    },
  ]);
  for (const [signal, handler] of forward) Deno.addSignalListener(signal, handler);
  try {
    let healthy = false;
    while (!exited && Date.now() - started < healthTimeoutMs) {
      if ((await healthProblem(stateDir, Date.now(), started)) === null) {
        healthy = true;
        break;
      }
      await Promise.race([status, new Promise((r) => setTimeout(r, 250))]);
    }
    if (healthy) {
      log.info("self-update: the new binary is healthy", { target_version: handoff.targetVersion });
      await Deno.remove(handoff.previousPath).catch(() => {});
      const done = await status;
      return { kind: "exited", code: done.code };
    }
    const reason = exited
      ? `the new binary exited with status ${
        (exited as Deno.CommandStatus).code
      } before it became healthy`
      : `the new binary was not healthy within ${Math.round(healthTimeoutMs / 1000)} s`;
    if (!exited) {
      child.kill("SIGTERM");
      const killed = await Promise.race([status, new Promise((r) => setTimeout(r, 10_000, null))]);
      if (!killed) child.kill("SIGKILL");
      await status;
    }
    await Deno.rename(handoff.previousPath, handoff.binaryPath);
    log.error("self-update rolled back", { reason, target_version: handoff.targetVersion });
    return { kind: "rolled-back", reason };
  } finally {
    for (const [signal, handler] of forward) Deno.removeSignalListener(signal, handler);
  }
}
