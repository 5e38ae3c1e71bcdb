/**
 * PostgreSQL, as the registry knows it: names, URLs, images, environment
 * hints, formats with their checks, and its engines (the native one over the
 * wire protocol, and pg_dump in the server's container).
 *
 * @module
 */
import "./engine_names.ts";
import { DbType } from "@backupy/gen/backup/v1/common_pb.ts";
import { Secret } from "../../../decrypt/secret.ts";
import type { EngineModule } from "../shared/engine_module.ts";
import { PG_CUSTOM_FORMAT, POSTGRES_FORMAT } from "./postgres_format.ts";
import { postgresTarget, postgresUrlExtras } from "./postgres_url.ts";
import { POSTGRES_DOCKER_RESTORE } from "./docker_restore_recipe.ts";

/** PostgreSQL's entry in the registry. */
export const POSTGRES: EngineModule = {
  family: "postgres",
  title: "PostgreSQL",
  names: [{ name: "postgresql", dbType: DbType.POSTGRESQL }],
  urlForms: [
    "postgres://user[:password]@host[:port]/[database]",
    "(password also from PGPASSWORD)",
  ],
  schemes: { "postgres:": "postgresql", "postgresql:": "postgresql" },
  images: {
    "postgres": "postgresql",
    "postgresql": "postgresql",
    "postgis/postgis": "postgresql",
    "timescale/timescaledb": "postgresql",
    "bitnami/postgresql": "postgresql",
  },
  envHintKeys: [
    "POSTGRES_USER",
    "POSTGRES_PASSWORD",
    "POSTGRES_DB",
    "POSTGRESQL_USER",
    "POSTGRESQL_PASSWORD",
    "POSTGRESQL_DATABASE",
    "PGUSER",
    "PGPASSWORD",
    "PGDATABASE",
  ],
  secretEnv: ["PGPASSWORD"],
  capabilities: ["pg_dump"],
  formats: [
    {
      format: POSTGRES_FORMAT,
      loadCheck: async () => {
        const { PostgresSqlCheck } = await import("./postgres_sql_check.ts");
        return (_, digests) => new PostgresSqlCheck(digests);
      },
    },
    {
      format: PG_CUSTOM_FORMAT,
      loadCheck: async () => {
        const { PgCustomCheck } = await import("./pg_custom_check.ts");
        return (_, digests) => new PgCustomCheck(digests);
      },
    },
  ],
  scratchRestore: "database",
  restoreOptions: ["clean", "singleTransaction"],
  dockerRestore: POSTGRES_DOCKER_RESTORE,
  targetFromUrl: postgresTarget,
  urlExtras: postgresUrlExtras,
  async native({ connection, extras }) {
    const { PostgresEngine } = await import("./postgres_engine.ts");
    return new PostgresEngine({
      host: connection.host || "127.0.0.1",
      port: connection.port || 5432,
      user: connection.username || "postgres",
      password: connection.passwordSecretRef ? new Secret(connection.passwordSecretRef) : undefined,
      database: connection.database,
      sslMode: extras.pgSslMode,
      sslRootCert: extras.sslCa,
    });
  },
  async dockerExec(containers, target) {
    const { DockerExecPostgresEngine } = await import("./docker_exec_postgres.ts");
    return new DockerExecPostgresEngine(containers, target);
  },
};
