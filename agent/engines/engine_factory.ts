/**
 * Picks the engine for a target by its type and connection strategy.
 * Native (TCP / UNIX_SOCKET) engines reach the server themselves;
 * DOCKER_EXEC goes through the {@linkcode ContainerRuntime} seam.
 *
 * @module
 */
import { ConnectionStrategy, DbType } from "@backupy/gen/backup/v1/common_pb.ts";
import type { Target } from "@backupy/gen/backup/v1/server_to_agent_pb.ts";
import type { ContainerRuntime } from "./container_exec.ts";
import type { ExecTarget } from "./docker_exec_engine.ts";
import { DockerExecMongoEngine } from "./docker_exec_mongodb.ts";
import { DockerExecMysqlEngine } from "./docker_exec_mysql.ts";
import { DockerExecPostgresEngine } from "./docker_exec_postgres.ts";
import { DockerExecRedisEngine } from "./docker_exec_redis.ts";
import { DockerExecSqliteEngine } from "./docker_exec_sqlite.ts";
import { DumpError, type Engine, type EngineName } from "./engine.ts";
import { SqliteEngine } from "./sqlite_engine.ts";
import { RedisEngine } from "./redis_engine.ts";
import { MysqlEngine, type MysqlSslMode } from "./mysql_engine.ts";
import { PostgresEngine, type PostgresSslMode } from "./postgres_engine.ts";
import { MongoEngine } from "./mongo_engine.ts";
import { Secret } from "../../decrypt/secret.ts";

/** What engines may use. */
export interface EngineContext {
  /** Where engines put temporary files (inside the state directory). */
  tempDir: string;
  /** Docker, when the Docker engine is reachable. */
  containers?: ContainerRuntime;
}

/** The lowercase engine name of a DbType. */
export function engineName(type: DbType): EngineName | undefined {
  switch (type) {
    case DbType.POSTGRESQL:
      return "postgresql";
    case DbType.MYSQL:
      return "mysql";
    case DbType.MARIADB:
      return "mariadb";
    case DbType.MONGODB:
      return "mongodb";
    case DbType.REDIS:
      return "redis";
    case DbType.SQLITE:
      return "sqlite";
    default:
      return undefined;
  }
}

/** Connection details a Target cannot carry (local-mode URLs such as rediss://). */
export interface ConnectionExtras {
  tls?: boolean;
  /** MySQL/MariaDB ssl-mode and CA file. */
  sslMode?: MysqlSslMode;
  sslCa?: string;
  /** MySQL/MariaDB: leave DEFINER clauses out. */
  omitDefiner?: boolean;
  /** PostgreSQL sslmode (sslrootcert goes in sslCa). */
  pgSslMode?: PostgresSslMode;
  /** MongoDB: the URL's hosts (a replica set's seeds), SRV, and driver options. */
  mongo?: { hosts: string[]; srv: boolean; options: Record<string, string>; snapshot?: boolean };
}

function readPem(path: string): string {
  try {
    return Deno.readTextFileSync(path);
  } catch (error) {
    throw new DumpError(`cannot read the CA file ${path}: ${(error as Error).message}`);
  }
}

/** The engine for `target`; throws {@linkcode DumpError} naming what is missing. */
export function createEngine(
  target: Target,
  context: EngineContext,
  extras: ConnectionExtras = {},
): Engine {
  const name = engineName(target.type);
  if (!name) {
    throw new DumpError(`target ${target.id} has an unknown database type (${target.type})`);
  }
  const connection = target.connection;
  if (!connection) throw new DumpError(`target ${target.id} has no connection settings`);
  if (connection.strategy === ConnectionStrategy.DOCKER_EXEC) {
    if (!context.containers) {
      throw new DumpError(
        `target ${target.id} uses DOCKER_EXEC, but the Docker engine is not reachable ` +
          "(check BACKUPY_DOCKER_SOCKET and BACKUPY_DISABLE_DISCOVERY)",
      );
    }
    if (!connection.containerId) {
      throw new DumpError(`target ${target.id} uses DOCKER_EXEC but names no container`);
    }
    const execTarget: ExecTarget = {
      container: connection.containerId,
      host: connection.host,
      port: connection.port,
      database: connection.database,
      username: connection.username,
      password: connection.passwordSecretRef ? new Secret(connection.passwordSecretRef) : undefined,
    };
    return createDockerExecEngine(name, context.containers, execTarget);
  }
  switch (name) {
    case "sqlite":
      return new SqliteEngine(connection.database, context.tempDir);
    case "postgresql":
      return new PostgresEngine({
        host: connection.host || "127.0.0.1",
        port: connection.port || 5432,
        user: connection.username || "postgres",
        password: connection.passwordSecretRef
          ? new Secret(connection.passwordSecretRef)
          : undefined,
        database: connection.database,
        sslMode: extras.pgSslMode,
        sslRootCert: extras.sslCa,
      });
    case "mysql":
    case "mariadb":
      return new MysqlEngine({
        host: connection.host || "127.0.0.1",
        port: connection.port || 3306,
        socketPath:
          connection.strategy === ConnectionStrategy.UNIX_SOCKET || connection.host.startsWith("/")
            ? connection.host
            : undefined,
        user: connection.username || "root",
        password: connection.passwordSecretRef
          ? new Secret(connection.passwordSecretRef)
          : undefined,
        database: connection.database,
        sslMode: extras.sslMode,
        sslCa: extras.sslCa,
        omitDefiner: extras.omitDefiner,
      }, name);
    case "redis":
      return new RedisEngine({
        hostname: connection.host || "127.0.0.1",
        port: connection.port || 6379,
        tls: extras.tls ?? false,
        caCerts: extras.tls && extras.sslCa ? [readPem(extras.sslCa)] : undefined,
        username: connection.username || undefined,
        password: connection.passwordSecretRef
          ? new Secret(connection.passwordSecretRef)
          : undefined,
      });
    case "mongodb":
      return new MongoEngine({
        hosts: extras.mongo?.hosts ??
          [`${connection.host || "127.0.0.1"}:${connection.port || 27017}`],
        srv: extras.mongo?.srv,
        username: connection.username || undefined,
        password: connection.passwordSecretRef
          ? new Secret(connection.passwordSecretRef)
          : undefined,
        database: connection.database,
        options: extras.mongo?.options,
        snapshot: extras.mongo?.snapshot,
      });
  }
}

/** The DOCKER_EXEC engine for `name`. */
export function createDockerExecEngine(
  name: EngineName,
  containers: ContainerRuntime,
  target: ExecTarget,
): Engine {
  switch (name) {
    case "postgresql":
      return new DockerExecPostgresEngine(containers, target);
    case "mysql":
    case "mariadb":
      return new DockerExecMysqlEngine(containers, target, name);
    case "redis":
      return new DockerExecRedisEngine(containers, target);
    case "sqlite":
      return new DockerExecSqliteEngine(containers, target);
    case "mongodb":
      return new DockerExecMongoEngine(containers, target);
  }
}
