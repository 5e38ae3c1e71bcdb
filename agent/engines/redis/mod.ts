/**
 * Redis, as the registry knows it: the native engine takes the snapshot a
 * replica would (SYNC); the DOCKER_EXEC one runs redis-cli --rdb.
 *
 * @module
 */
import "./engine_names.ts";
import { DbType } from "@backupy/gen/backup/v1/common_pb.ts";
import { Secret } from "../../../decrypt/secret.ts";
import { DumpError } from "../shared/engine.ts";
import type { EngineModule } from "../shared/engine_module.ts";
import { REDIS_DOCKER_RESTORE } from "./docker_restore_recipe.ts";
import { RDB_FORMAT } from "./rdb_format.ts";
import { redisTarget, redisUrlExtras } from "./redis_url.ts";

function readPem(path: string): string {
  try {
    return Deno.readTextFileSync(path);
  } catch (error) {
    throw new DumpError(`cannot read the CA file ${path}: ${(error as Error).message}`);
  }
}

/** Redis's entry in the registry. */
export const REDIS: EngineModule = {
  family: "redis",
  title: "Redis",
  names: [{ name: "redis", dbType: DbType.REDIS }],
  urlForms: [
    "redis://[user:password@]host[:port][/db] (rediss:// for TLS;",
    "password also from REDISCLI_AUTH)",
  ],
  schemes: { "redis:": "redis", "rediss:": "redis" },
  images: { "redis": "redis", "bitnami/redis": "redis" },
  envHintKeys: ["REDIS_PASSWORD", "REDIS_USERNAME"],
  secretEnv: ["REDISCLI_AUTH"],
  capabilities: ["redis_rdb"],
  formats: [{
    format: RDB_FORMAT,
    loadCheck: async () => {
      const { RdbCheck } = await import("./rdb_check.ts");
      return () => new RdbCheck();
    },
  }],
  dockerRestore: REDIS_DOCKER_RESTORE,
  restoreOptions: ["replace"],
  scratchRestore: "server",
  targetFromUrl: redisTarget,
  urlExtras: redisUrlExtras,
  async native({ connection, extras }) {
    const { RedisEngine } = await import("./redis_engine.ts");
    return new RedisEngine({
      hostname: connection.host || "127.0.0.1",
      port: connection.port || 6379,
      tls: extras.tls ?? false,
      caCerts: extras.tls && extras.sslCa ? [readPem(extras.sslCa)] : undefined,
      username: connection.username || undefined,
      password: connection.passwordSecretRef ? new Secret(connection.passwordSecretRef) : undefined,
      database: connection.database ? Number(connection.database) : undefined,
    });
  },
  async dockerExec(containers, target) {
    const { DockerExecRedisEngine } = await import("./docker_exec_redis.ts");
    return new DockerExecRedisEngine(containers, target);
  },
};
