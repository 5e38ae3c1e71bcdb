/**
 * The one list of engine families. Everything that depends on which engine
 * a target, a URL, a container image or a dump is - the factory, local
 * mode's URLs, discovery, verify's format checks, the capabilities, the
 * hooks' environment - asks here; adding an engine is its proto enum value,
 * its folder with a `mod.ts`, and one line in {@linkcode ENGINES}.
 *
 * Engines (and their drivers) load the first time one is made: the
 * families' `mod.ts` files carry only what describes them.
 *
 * @module
 */
import { ConnectionStrategy, type DbType } from "@backupy/gen/backup/v1/common_pb.ts";
import type { Target } from "@backupy/gen/backup/v1/server_to_agent_pb.ts";
import { UsageError } from "../../decrypt/errors.ts";
import { Secret } from "../../decrypt/secret.ts";
import { MONGODB } from "./mongodb/mod.ts";
import { MYSQL } from "./mysql/mod.ts";
import { POSTGRES } from "./postgres/mod.ts";
import { REDIS } from "./redis/mod.ts";
import type { ContainerRuntime } from "./shared/container_exec.ts";
import type { ExecTarget } from "./shared/docker_exec_engine.ts";
import { DumpError, type DumpFormat, type Engine, type EngineName } from "./shared/engine.ts";

/** Every registered engine name (each family declares its own in its mod.ts). */
export type { EngineName };
import type {
  ConnectionExtras,
  DumpFormatModule,
  EngineContext,
  EngineModule,
  FormatCheckFactory,
} from "./shared/engine_module.ts";
import { SQLITE } from "./sqlite/mod.ts";

export type { ConnectionExtras, EngineContext, EngineModule };

/** Every engine family this build has, in the order lists show them. */
export const ENGINES: readonly EngineModule[] = [POSTGRES, MYSQL, MONGODB, REDIS, SQLITE];

/** Every engine name, as discovery, labels, `?type=` and manifests spell them. */
export const ENGINE_NAMES: readonly EngineName[] = ENGINES.flatMap((e) =>
  e.names.map((n) => n.name)
);

/** The family an engine name belongs to. */
export function engineModule(name: EngineName): EngineModule {
  const found = ENGINES.find((e) => e.names.some((n) => n.name === name));
  if (!found) throw new Error(`internal error: no engine family has the name ${name}`);
  return found;
}

/** Whether `name` is an engine name (a label's or a URL's text). */
export function isEngineName(name: string): name is EngineName {
  return (ENGINE_NAMES as readonly string[]).includes(name);
}

/** The lowercase engine name of a DbType; undefined for one no family has. */
export function engineName(type: DbType): EngineName | undefined {
  for (const engine of ENGINES) {
    const found = engine.names.find((n) => n.dbType === type);
    if (found) return found.name;
  }
  return undefined;
}

/** The DbType of an engine name. */
export function dbTypeOf(name: EngineName): DbType {
  return engineModule(name).names.find((n) => n.name === name)!.dbType;
}

/** Whether two engine names are of one family (a MariaDB backup on a MySQL server). */
export function sameFamily(a: EngineName, b: EngineName): boolean {
  return engineModule(a) === engineModule(b);
}

/** The engine an image repository (registry.imageRepository's form) runs, if any. */
export function engineForRepository(repository: string): EngineName | undefined {
  for (const engine of ENGINES) {
    const exact = engine.images[repository];
    if (exact) return exact;
  }
  for (const engine of ENGINES) {
    const pattern = engine.imagePatterns?.find((p) => p.pattern.test(repository));
    if (pattern) return pattern.name;
  }
  return undefined;
}

/** Container environment keys discovery reports as "set", every family's. */
export const ENV_HINT_KEYS: readonly string[] = ENGINES.flatMap((e) => e.envHintKeys);

/** Environment variables that carry an engine's secret (never passed to hooks). */
export const SECRET_ENV: readonly string[] = ENGINES.flatMap((e) => e.secretEnv);

/** What the engines add to Register.capabilities. */
export const ENGINE_CAPABILITIES: readonly string[] = ENGINES.flatMap((e) => e.capabilities);

/** Every dump format this build writes or reads, with its check. */
export const DUMP_FORMATS: readonly DumpFormatModule[] = ENGINES.flatMap((e) => e.formats);

/** A dump format with its check loaded. */
export interface LoadedFormat {
  format: DumpFormat;
  check: FormatCheckFactory;
}

let loadedFormats: Promise<readonly LoadedFormat[]> | undefined;

/** Every dump format with its check, loaded once, the first time a dump is walked. */
export function loadFormatChecks(): Promise<readonly LoadedFormat[]> {
  loadedFormats ??= Promise.all(
    DUMP_FORMATS.map(async ({ format, loadCheck }) => ({ format, check: await loadCheck() })),
  );
  return loadedFormats;
}

/** The family whose dumps come in the format `description` names (a check's `format`). */
export function familyOfFormat(description: string): EngineModule | undefined {
  return ENGINES.find((e) => e.formats.some((f) => f.format.description === description));
}

/** Engine names whose backups `verify --docker-image` restores. */
export const DOCKER_RESTORABLE_ENGINES: readonly EngineName[] = ENGINES.filter((e) =>
  e.dockerRestore
).flatMap((e) => e.names.map((n) => n.name));

/** Engine names whose backups `verify --level restore` restores without Docker. */
export const SCRATCH_RESTORABLE_ENGINES: readonly EngineName[] = ENGINES.filter((e) =>
  e.scratchRestore
).flatMap((e) => e.names.map((n) => n.name));

/** The families whose databases are files (SQLite). */
export const FILE_ENGINES: readonly EngineModule[] = ENGINES.filter((e) => e.fileDatabase);

/** A URL's scheme with its colon, lowercased ("postgres:"). */
function schemeOf(url: string): string | undefined {
  return /^([a-z][a-z0-9+.-]*:)/i.exec(url)?.[1]?.toLowerCase();
}

/** The family whose URL scheme `url` has; undefined for any other. */
function familyOfUrl(url: string): EngineModule | undefined {
  const scheme = schemeOf(url);
  return scheme ? ENGINES.find((e) => scheme in e.schemes) : undefined;
}

/**
 * The Target for an engine URL (`postgres://...`, `sqlite:///...`); throws a
 * {@linkcode UsageError} naming the problem without repeating a password.
 */
export function targetFromEngineUrl(
  url: string,
  env: (name: string) => string | undefined = (name) => Deno.env.get(name),
): Target {
  const family = familyOfUrl(url);
  if (!family) {
    throw new UsageError(
      `--target must be a URL such as sqlite:///path/to/file.db (got scheme ${
        schemeOf(url) ?? "none"
      })`,
    );
  }
  return family.targetFromUrl(url, env);
}

/** What an engine URL says that a Target cannot carry (TLS, ssl-mode, MongoDB hosts). */
export function urlExtras(url: string): ConnectionExtras {
  return familyOfUrl(url)?.urlExtras?.(url) ?? {};
}

/** The engine for `target`; throws {@linkcode DumpError} naming what is missing. */
export async function createEngine(
  target: Target,
  context: EngineContext,
  extras: ConnectionExtras = {},
): Promise<Engine> {
  const name = engineName(target.type);
  if (!name) {
    throw new DumpError(`target ${target.id} has an unknown database type (${target.type})`);
  }
  const connection = target.connection;
  if (!connection) throw new DumpError(`target ${target.id} has no connection settings`);
  if (connection.strategy !== ConnectionStrategy.DOCKER_EXEC) {
    return await engineModule(name).native({ name, connection, context, extras });
  }
  if (!context.containers) {
    throw new DumpError(
      `target ${target.id} uses DOCKER_EXEC, but the Docker engine is not reachable ` +
        "(check BACKUPY_DOCKER_SOCKET and BACKUPY_DISABLE_DISCOVERY)",
    );
  }
  if (!connection.containerId) {
    throw new DumpError(`target ${target.id} uses DOCKER_EXEC but names no container`);
  }
  return await createDockerExecEngine(name, context.containers, {
    container: connection.containerId,
    host: connection.host,
    port: connection.port,
    database: connection.database,
    username: connection.username,
    password: connection.passwordSecretRef ? new Secret(connection.passwordSecretRef) : undefined,
    authSource: extras.authSource,
  });
}

/** The DOCKER_EXEC engine for `name`. */
export async function createDockerExecEngine(
  name: EngineName,
  containers: ContainerRuntime,
  target: ExecTarget,
): Promise<Engine> {
  return await engineModule(name).dockerExec(containers, target, name);
}
