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
import { firstAvailable, stderrSummary } from "../engines/shared/docker_exec_engine.ts";
import type { BackupManifest } from "../manifest/backup_manifest.ts";
import { compareObjects } from "./compare_manifest.ts";
import type { FormatCheck } from "../engines/shared/format_check.ts";
import { MysqlSqlCheck } from "../engines/mysql/mysql_sql_check.ts";
import { PgCustomCheck } from "../engines/postgres/pg_custom_check.ts";
import { PostgresSqlCheck } from "../engines/postgres/postgres_sql_check.ts";
import { RdbCheck } from "../engines/redis/rdb_check.ts";
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

/** The database the backup is restored into, inside the container. */
const DATABASE = "backupy_verify";

/** How one engine family is restored and re-read with its own tools. */
interface Recipe {
  /** The container's environment (throwaway credentials only). */
  containerEnv(password: string): Record<string, string>;
  /** Exec environment of every tool run. */
  execEnv(password: string): Record<string, string>;
  /** Exits 0 once the server takes connections. */
  ready: string[];
  /** Creates the empty database. */
  create: string[];
  /** Reads the dump on stdin into the database. */
  restore: string[];
  /** Per dump format (the structure check's name), a restore other than `restore`. */
  restoreFor?: Record<string, string[]>;
  /** Writes the database's data to stdout in a format `check` reads. */
  reread: string[];
  /** Prints the restored database's size in bytes. */
  size: string[];
  check(): FormatCheck;
}

const POSTGRES: Recipe = {
  containerEnv: (password) => ({ POSTGRES_PASSWORD: password }),
  // The digests are of the text the server prints: pinned as the dump pinned it.
  execEnv: (password) => ({
    PGHOST: "127.0.0.1",
    PGUSER: "postgres",
    PGPASSWORD: password,
    PGOPTIONS: "-c DateStyle=ISO -c IntervalStyle=postgres -c extra_float_digits=3 " +
      "-c TimeZone=UTC -c bytea_output=hex",
  }),
  ready: ["psql", "-XtAq", "-d", "postgres", "-c", "SELECT 1"],
  create: ["psql", "-Xq", "-d", "postgres", "-c", `CREATE DATABASE ${DATABASE}`],
  restore: ["psql", "-Xq", "-v", "ON_ERROR_STOP=1", "-o", "/dev/null", "-d", DATABASE],
  // DOCKER_EXEC backups are pg_dump archives: pg_restore reads them from stdin.
  restoreFor: {
    [PgCustomCheck.FORMAT]: ["pg_restore", "--no-owner", "--exit-on-error", "-d", DATABASE],
  },
  reread: ["pg_dump", "--data-only", "-d", DATABASE],
  size: ["psql", "-XtAq", "-d", "postgres", "-c", `SELECT pg_database_size('${DATABASE}')`],
  check: () => new PostgresSqlCheck(true),
};

const MYSQL_CLIENT = ["mariadb", "mysql"];
/** The image's MySQL/MariaDB client as root over TCP, with `args`. */
const mysqlClient = (...args: string[]) =>
  firstAvailable(MYSQL_CLIENT, ["-h127.0.0.1", "-uroot", ...args]);
const MYSQL: Recipe = {
  containerEnv: (password) => ({
    MARIADB_ROOT_PASSWORD: password,
    MYSQL_ROOT_PASSWORD: password,
  }),
  execEnv: (password) => ({ MYSQL_PWD: password }),
  ready: mysqlClient("-e", "SELECT 1"),
  create: mysqlClient("-e", `CREATE DATABASE ${DATABASE}`),
  restore: mysqlClient(DATABASE),
  // Binary as hex, UTC, one snapshot: the literals our own dump writes.
  reread: firstAvailable(["mariadb-dump", "mysqldump"], [
    "-h127.0.0.1",
    "-uroot",
    "--hex-blob",
    "--tz-utc",
    "--single-transaction",
    "--no-create-info",
    "--skip-triggers",
    DATABASE,
  ]),
  size: mysqlClient(
    "-N",
    "-e",
    "SELECT COALESCE(SUM(data_length + index_length), 0) FROM information_schema.TABLES " +
      `WHERE table_schema = '${DATABASE}'`,
  ),
  check: () => new MysqlSqlCheck(true),
};

const RECIPES: Record<string, Recipe> = {
  postgresql: POSTGRES,
  mysql: MYSQL,
  mariadb: MYSQL,
};

/** Engines this check restores in a container. */
export const DOCKER_RESTORABLE_ENGINES = [...Object.keys(RECIPES), "redis"];

/** Restores in a throwaway container, re-reads, compares; says what it proved or why not. */
export async function dockerRestoreCheck(request: DockerRestoreRequest): Promise<VerifyCheck> {
  const { manifest, docker, signal } = request;
  const fail = (detail: string): VerifyCheck => ({ name: "restore", ok: false, detail });
  if (request.format === RdbCheck.FORMAT) return await redisRestoreCheck(request);
  if (!manifest) return fail("restoring this backup needs its manifest");
  const recipe = RECIPES[manifest.engine];
  if (!recipe) {
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
    const check = recipe.check();
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
 * Redis: the RDB goes into the server's data directory, the server stops
 * without saving and the container starts again, so the server loads the
 * file at start-up as it would after a real restore; a snapshot Redis
 * cannot load keeps it from coming up. The server's own snapshot of what it
 * loaded is then walked for each database's keys and compared with the
 * manifest (without one, the keys are counted).
 */
async function redisRestoreCheck(request: DockerRestoreRequest): Promise<VerifyCheck> {
  const { docker, signal } = request;
  const fail = (detail: string): VerifyCheck => ({ name: "restore", ok: false, detail });
  const ready = ["sh", "-c", "redis-cli ping | grep -q PONG"];
  const started = performance.now();
  const id = await startThrowaway(docker, request.image, {});
  try {
    const timeout = request.readyTimeoutMs ?? 120_000;
    await waitUntilReady(docker, id, ready, {}, signal, timeout);
    const readyAt = performance.now();
    const place = "d=$(redis-cli config get dir | sed -n 2p) && " +
      "f=$(redis-cli config get dbfilename | sed -n 2p) && " +
      'cat > "$d/$f.incoming" && mv "$d/$f.incoming" "$d/$f"';
    await restoreFrom(request.input, request.key, signal, async (source) => {
      await runTool(docker, id, ["sh", "-c", place], {}, signal, "copying the snapshot", {
        stdin: source,
      });
    });
    // The container's main process is the server: it stops, and starts again on the file.
    await runToEnd(docker, id, ["redis-cli", "shutdown", "nosave"], {}, signal);
    for (let i = 0; (await docker.inspect(id))?.running; i++) {
      if (i > 200) throw new Error("the server did not stop");
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await docker.startContainer(id);
    await waitUntilReady(docker, id, ready, {}, signal, timeout);
    const loadedAt = performance.now();
    // Read back as a replica would: the server's own snapshot of what it loaded.
    const reread = new RdbCheck();
    const snapshotOut = "/tmp/backupy-verify-reread.rdb";
    await runTool(
      docker,
      id,
      [
        "sh",
        "-c",
        "redis-cli config set repl-diskless-sync-delay 0 >/dev/null && " +
        `redis-cli --rdb ${snapshotOut} >/dev/null && cat ${snapshotOut} && rm -f ${snapshotOut}`,
      ],
      {},
      signal,
      "re-reading",
      { stdout: (chunk) => reread.update(chunk) },
    );
    const problems = await reread.finish();
    if (problems.length > 0) {
      return fail(`re-reading the loaded snapshot: ${problems.join("; ")}`);
    }
    const found = reread.objects();
    const loaded = `loaded by Redis in a container of ${request.image} (server up in ${
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
