/**
 * `verify --level restore --docker-image IMAGE`: restore the backup with
 * the engine's own tools inside a throwaway container of IMAGE that has no
 * network at all, dump the restored database's data again with the
 * engine's own dump tool, and compare every object's rows and digest with
 * the manifest. Everything runs through the exec API; the container is
 * removed on every path.
 *
 * @module
 */
import { hasEnded, ownIdentity } from "../host/process_identity.ts";
import type { DockerHost } from "../docker/docker_host.ts";
import type { ExecProcess } from "../engines/shared/container_exec.ts";
import { stderrSummary } from "../engines/shared/docker_exec_engine.ts";
import type { SnapshotRestoreRecipe } from "../engines/shared/docker_restore_recipe.ts";
import {
  DOCKER_RESTORABLE_ENGINES,
  engineModule,
  familyOfFormat,
  isEngineName,
} from "../engines/registry.ts";
import type { BackupManifest } from "../manifest/backup_manifest.ts";
import { compareObjects } from "./compare_manifest.ts";
import { restoredSize, restoreFrom, seconds } from "./restore_check.ts";
import type { VerifyCheck } from "./verify_structure.ts";

/** What a docker-image restore needs. */
export interface DockerRestoreRequest {
  input: string;
  key: CryptoKey;
  /** Required for the SQL engines; a Redis backup has none. */
  manifest?: BackupManifest;
  /** The dump's format as the structure check told it. */
  format?: string;
  image: string;
  docker: DockerHost;
  signal: AbortSignal;
  /** How long the server in the container may take to come up (120 s). */
  readyTimeoutMs?: number;
}

/**
 * Labels of every throwaway container: what it is for, and which process
 * made it (its pid for people; its identity for the sweep below).
 */
function verifyLabels(): Record<string, string> {
  const identity = ownIdentity();
  return {
    "backupy.verify": "restore",
    "backupy.verify.pid": String(Deno.pid),
    ...(identity ? { [OWNER_LABEL]: identity } : {}),
  };
}

/** The label naming the process that made a throwaway container (host/process_identity.ts). */
const OWNER_LABEL = "backupy.verify.process";

/**
 * Removes the throwaway containers that a verify which has ended left behind
 * (killed with SIGKILL, or its machine stopped): each would hold an engine's
 * memory and disk until someone noticed. Only containers whose maker lived in
 * this PID namespace are judged; those of running verifies, and of agents
 * elsewhere that share the Docker engine, are left alone. Returns the ids removed.
 */
export async function removeLeftoverContainers(docker: DockerHost): Promise<string[]> {
  const removed: string[] = [];
  for (const container of await docker.containersLabelled("backupy.verify=restore")) {
    const owner = container.labels[OWNER_LABEL];
    if (owner === undefined || hasEnded(owner) !== true) continue;
    // Best effort: another verify may be removing the same one; the next sweep tries again.
    if (await docker.removeContainer(container.id).then(() => true, () => false)) {
      removed.push(container.id);
    }
  }
  return removed;
}

/** A throwaway container of `image`, after the leftovers of ended verifies are gone. */
async function startThrowaway(
  docker: DockerHost,
  image: string,
  env: Record<string, string>,
): Promise<string> {
  await removeLeftoverContainers(docker);
  return await docker.startIsolated(image, env, verifyLabels());
}

/** Engines this check restores in a container (engines/registry.ts). */
export { DOCKER_RESTORABLE_ENGINES };

/** Restores in a throwaway container, re-reads, compares; says what it proved or why not. */
export async function dockerRestoreCheck(request: DockerRestoreRequest): Promise<VerifyCheck> {
  const { manifest, docker, signal } = request;
  const fail = (detail: string): VerifyCheck => ({ name: "restore", ok: false, detail });
  // A snapshot needs no manifest to be loaded: the format tells the family.
  const byFormat = request.format ? familyOfFormat(request.format) : undefined;
  if (byFormat?.dockerRestore?.kind === "snapshot") {
    return await snapshotRestoreCheck(request, byFormat.title, byFormat.dockerRestore);
  }
  if (!manifest) return fail("restoring this backup needs its manifest");
  const recipe = isEngineName(manifest.engine)
    ? engineModule(manifest.engine).dockerRestore
    : undefined;
  if (recipe?.kind !== "database") {
    return fail(
      `--docker-image restores ${DOCKER_RESTORABLE_ENGINES.join(", ")} backups in this build, ` +
        `not ${manifest.engine}`,
    );
  }
  if (manifest.objects.some((o) => o.name.includes("/"))) {
    return fail("a dump of a whole server cannot be restored into one scratch database");
  }
  // A password for a server that lives a few minutes and has no network.
  const password = crypto.randomUUID();
  const env = recipe.execEnv(password);
  const started = performance.now();
  const id = await startThrowaway(docker, request.image, recipe.containerEnv(password));
  try {
    await waitUntilReady(docker, id, recipe.ready, env, signal, request.readyTimeoutMs ?? 120_000);
    await runTool(docker, id, recipe.create, env, signal, "creating the database");
    const readyAt = performance.now();
    await restoreFrom(request.input, request.key, signal, async (source) => {
      const restore = recipe.restoreFor?.[request.format ?? ""] ?? recipe.restore;
      await runTool(docker, id, restore, env, signal, "the restore", { stdin: source });
    });
    const restoredAt = performance.now();
    let sizeText = "";
    await runTool(docker, id, recipe.size, env, signal, "sizing", {
      stdout: (chunk) => (sizeText += new TextDecoder().decode(chunk)),
    }).catch(() => {});
    const size = /^\d+$/.test(sizeText.trim()) ? Number(sizeText.trim()) : undefined;
    const check = await recipe.check();
    await runTool(docker, id, recipe.reread, env, signal, "re-reading", {
      stdout: (chunk) => check.update(chunk),
    });
    const problems = await check.finish();
    if (problems.length > 0) {
      return fail(`re-reading the restored database: ${problems.join("; ")}`);
    }
    const differences = compareObjects(manifest.objects, check.objects!());
    return differences.length > 0
      ? fail(`restored in ${request.image}, but: ${differences.join("; ")}`)
      : {
        name: "restore",
        ok: true,
        detail: `restored in a container of ${request.image} (server up in ${
          seconds(readyAt - started)
        } s) in ${seconds(restoredAt - readyAt)} s${restoredSize(size)} and read back in ${
          seconds(performance.now() - restoredAt)
        } s: ${manifest.objects.length} objects equal the manifest's`,
      };
  } finally {
    await docker.removeContainer(id);
  }
}

/**
 * A family whose server loads a snapshot as it starts (engines/shared/docker_restore_recipe.ts):
 * placed, the server restarted on it, its own snapshot of what it loaded
 * walked and compared with the manifest (without one, the objects are counted).
 */
async function snapshotRestoreCheck(
  request: DockerRestoreRequest,
  server: string,
  recipe: SnapshotRestoreRecipe,
): Promise<VerifyCheck> {
  const { docker, signal } = request;
  const fail = (detail: string): VerifyCheck => ({ name: "restore", ok: false, detail });
  const ready = recipe.ready;
  const started = performance.now();
  const id = await startThrowaway(docker, request.image, {});
  try {
    const timeout = request.readyTimeoutMs ?? 120_000;
    await waitUntilReady(docker, id, ready, {}, signal, timeout);
    const readyAt = performance.now();
    await restoreFrom(request.input, request.key, signal, async (source) => {
      await runTool(docker, id, recipe.place, {}, signal, "copying the snapshot", {
        stdin: source,
      });
    });
    // The container's main process is the server: it stops, and starts again on the file.
    await runToEnd(docker, id, recipe.stop, {}, signal);
    for (let i = 0; (await docker.inspect(id))?.running; i++) {
      if (i > 200) throw new Error("the server did not stop");
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await docker.startContainer(id);
    await waitUntilReady(docker, id, ready, {}, signal, timeout);
    const loadedAt = performance.now();
    // Read back as a replica would: the server's own snapshot of what it loaded.
    const reread = await recipe.check();
    await runTool(docker, id, recipe.reread, {}, signal, "re-reading", {
      stdout: (chunk) => reread.update(chunk),
    });
    const problems = await reread.finish();
    if (problems.length > 0) {
      return fail(`re-reading the loaded snapshot: ${problems.join("; ")}`);
    }
    const found = reread.objects?.() ?? [];
    const loaded = `loaded by ${server} in a container of ${request.image} (server up in ${
      seconds(readyAt - started)
    } s, snapshot loaded in ${seconds(loadedAt - readyAt)} s)`;
    if (!request.manifest) {
      const keys = found.map((db) => `${db.name} ${db.rows} keys`).join(", ") || "no keys";
      return {
        name: "restore",
        ok: true,
        detail: `${loaded}: ${keys}; no manifest, so the keys were counted, not compared`,
      };
    }
    const differences = compareObjects(request.manifest.objects, found);
    return differences.length > 0 ? fail(`${loaded}, but: ${differences.join("; ")}`) : {
      name: "restore",
      ok: true,
      detail: `${loaded} and read back: ${request.manifest.objects.length} databases' keys ` +
        "equal the manifest's",
    };
  } finally {
    await docker.removeContainer(id);
  }
}

/** Runs the probe until it succeeds, or throws after `timeoutMs`. */
async function waitUntilReady(
  docker: DockerHost,
  id: string,
  probe: string[],
  env: Record<string, string>,
  signal: AbortSignal,
  timeoutMs: number,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  let last = "";
  // The server may stop between the look and the probe: either way the same report,
  // with the last lines it wrote (Redis says which RDB version it cannot read).
  const stopped = async () => {
    // One report line: the log's lines joined.
    const tail = (await docker.logTail(id, 3)).split("\n").map((l) => l.trim()).join(" / ");
    return new Error(
      `the container stopped before its server came up${tail ? `; its last words: ${tail}` : ""}`,
    );
  };
  while (performance.now() < deadline) {
    signal.throwIfAborted();
    if (!(await docker.inspect(id))?.running) throw await stopped();
    const probed = await runToEnd(docker, id, probe, env, signal).catch(async (error) => {
      if (!signal.aborted && !(await docker.inspect(id))?.running) throw await stopped();
      throw error;
    });
    const { code, stderrTail } = probed;
    if (code === 0) return;
    last = stderrSummary(stderrTail);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  throw new Error(`the server did not come up within ${timeoutMs / 1000} s: ${last}`);
}

/** What a tool run is given besides its command. */
interface ToolIo {
  stdin?: ReadableStream<Uint8Array>;
  /** Sees the tool's stdout (dropped otherwise). */
  stdout?: (chunk: Uint8Array) => void;
}

/** Runs one tool to its end; its exit code and stderr's tail. */
async function runToEnd(
  docker: DockerHost,
  id: string,
  argv: string[],
  env: Record<string, string>,
  signal: AbortSignal,
  io: ToolIo = {},
): Promise<{ code: number | null; stderrTail: string }> {
  const process: ExecProcess = await docker.exec(id, argv, env, signal, { stdin: io.stdin });
  await process.stdout.pipeTo(new WritableStream({ write: (chunk) => io.stdout?.(chunk) }));
  return await process.exit;
}

/** Runs one tool to its end; throws with its stderr when it fails. */
async function runTool(
  docker: DockerHost,
  id: string,
  argv: string[],
  env: Record<string, string>,
  signal: AbortSignal,
  what: string,
  io: ToolIo = {},
): Promise<void> {
  const { code, stderrTail } = await runToEnd(docker, id, argv, env, signal, io);
  if (code !== 0) {
    throw new Error(`${what} failed (exit ${code}): ${stderrSummary(stderrTail)}`);
  }
}
