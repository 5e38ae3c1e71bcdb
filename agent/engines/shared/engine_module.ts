/**
 * What one engine family (PostgreSQL, MySQL/MariaDB, MongoDB, Redis,
 * SQLite) tells the rest of the agent about itself: its names and wire
 * types, how local mode spells it as a URL, which container images run it,
 * which environment variables hint at or carry its credentials, what it adds
 * to Register.capabilities, the formats its dumps come in with their checks,
 * and how to make its engines. Each family exports one from
 * `engines/<family>/mod.ts`; `engines/registry.ts` lists them, and nothing
 * else spells an engine's name.
 *
 * @module
 */
import type { DbType } from "@backupy/gen/backup/v1/common_pb.ts";
import type { ConnectionConfig, Target } from "@backupy/gen/backup/v1/server_to_agent_pb.ts";
import type { ContainerRuntime } from "./container_exec.ts";
import type { DockerRestoreRecipe, SnapshotRestoreRecipe } from "./docker_restore_recipe.ts";
import type { ExecTarget } from "./docker_exec_engine.ts";
import type { DumpFormat, Engine, EngineName } from "./engine.ts";
import type { FormatCheck } from "./format_check.ts";

/**
 * An option of `backupy-agent restore` that only some families honour:
 * `--clean`, `--no-single-transaction`, `--replace`, `--drop`, `--rename`.
 */
export type RestoreOption = "clean" | "singleTransaction" | "replace" | "drop" | "rename";

/** What engines may use. */
export interface EngineContext {
  /** Where engines put temporary files (inside the state directory). */
  tempDir: string;
  /** Docker, when the Docker engine is reachable. */
  containers?: ContainerRuntime;
}

/** Connection details a Target cannot carry (local-mode URLs such as rediss://). */
export interface ConnectionExtras {
  tls?: boolean;
  /** MySQL/MariaDB ssl-mode and CA file. */
  sslMode?: "DISABLED" | "PREFERRED" | "REQUIRED" | "VERIFY_CA" | "VERIFY_IDENTITY";
  sslCa?: string;
  /** MySQL/MariaDB: leave DEFINER clauses out. */
  omitDefiner?: boolean;
  /** PostgreSQL sslmode (sslrootcert goes in sslCa). */
  pgSslMode?: "disable" | "prefer" | "require" | "verify-ca" | "verify-full";
  /** MongoDB through docker exec: the database that holds the user (`?authSource=`). */
  authSource?: string;
  /** MongoDB: the URL's hosts (a replica set's seeds), SRV, and driver options. */
  mongo?: {
    hosts: string[];
    srv: boolean;
    options: Record<string, string>;
    snapshot?: boolean;
    /** false: a whole-server dump without admin and config. */
    systemDatabases?: boolean;
  };
  /** Only databases whose names start with it (a MongoDB scratch restore's). */
  databasePrefix?: string;
}

/** What a native engine is made from. */
export interface NativeEngineConfig {
  /** Which of the family's names (mysql or mariadb). */
  name: EngineName;
  connection: ConnectionConfig;
  context: EngineContext;
  extras: ConnectionExtras;
}

/** Makes a check for a dump in one format; `digests` asks for per-object row digests. */
export type FormatCheckFactory = (tempDir: string, digests: boolean) => FormatCheck;

/** A dump format with the check that walks it (verify, and manifests read from a stream). */
export interface DumpFormatModule {
  format: DumpFormat;
  /**
   * Loads the check (and the parsers it needs, BSON for one) the first time
   * a dump of this format is walked: an agent that never verifies carries none.
   */
  loadCheck(): Promise<FormatCheckFactory>;
}

/** One engine family, as the registry lists it. */
export interface EngineModule {
  /** Its folder under engines/, and what the registry calls it. */
  readonly family: string;
  /** For people: "PostgreSQL", "MySQL/MariaDB". */
  readonly title: string;
  /** The engine names of the family and the wire type each is; the first is the family's own. */
  readonly names: readonly { name: EngineName; dbType: DbType }[];
  /** How `--target` spells it, one line or more each for the usage text. */
  readonly urlForms: readonly string[];
  /** Local mode's URL schemes (with the colon) and the engine name each means. */
  readonly schemes: Readonly<Record<string, EngineName>>;
  /** Image repositories (no registry host, tag or digest; lowercase) that run it. */
  readonly images: Readonly<Record<string, EngineName>>;
  /** Further image repositories by pattern (`mysql8`). */
  readonly imagePatterns?: readonly { pattern: RegExp; name: EngineName }[];
  /** Container environment keys discovery reports as "set", never with their values. */
  readonly envHintKeys: readonly string[];
  /** Environment variables that carry its secrets: never passed on to hooks. */
  readonly secretEnv: readonly string[];
  /** What it adds to Register.capabilities (the Go agent's names). */
  readonly capabilities: readonly string[];
  /** The formats its dumps come in, native and DOCKER_EXEC. */
  readonly formats: readonly DumpFormatModule[];
  /**
   * Its databases are files (SQLite): local mode's `docker://` takes a path,
   * discovery finds them in containers' volumes and bind mounts.
   */
  readonly fileDatabase?: {
    /** File names that are probably one (a `docker://` path without `?type=`). */
    namePattern: RegExp;
    /** Its files in the mounts (`source` as this agent sees it), as paths in the container. */
    findInMounts(mounts: readonly { source: string; destination: string }[]): Promise<string[]>;
  };
  /**
   * How `verify --level restore` restores a backup without Docker: into a
   * temporary file, into a temporary database on a scratch server of its
   * family, into databases named with a temporary prefix there (each of the
   * backup's databases under the prefix; MongoDB), or into a whole scratch
   * server that must be empty (and is emptied again afterwards). Absent: not
   * in this build.
   */
  readonly scratchRestore?: "file" | "database" | "prefixed" | "server";
  /**
   * For a family `backupy-agent restore` cannot restore yet: what to do
   * instead, with the engine's own tool. Absent when it restores natively.
   */
  readonly manualRestore?: string;
  /** Options of `backupy-agent restore` it honours. */
  readonly restoreOptions?: readonly RestoreOption[];
  /**
   * How `verify --docker-image` restores it in a throwaway container of its
   * image: into a database with the image's tools, or by the server loading
   * the snapshot as it starts.
   */
  readonly dockerRestore?: DockerRestoreRecipe | SnapshotRestoreRecipe;
  /** The Target for a URL of one of its schemes; throws a UsageError that repeats no password. */
  targetFromUrl(url: string, env: (name: string) => string | undefined): Target;
  /** What the URL says that a Target cannot carry (TLS, ssl-mode, ...). */
  urlExtras?(url: string): ConnectionExtras;
  /** The native engine, speaking the server's protocol (its driver is loaded here). */
  native(config: NativeEngineConfig): Promise<Engine>;
  /** The engine that runs the server's own dump tool in its container. */
  dockerExec(containers: ContainerRuntime, target: ExecTarget, name: EngineName): Promise<Engine>;
}
