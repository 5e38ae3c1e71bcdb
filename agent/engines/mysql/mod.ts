/**
 * MySQL and MariaDB, as the registry knows them: one family, two names; the
 * native engine speaks the MySQL protocol to both, the DOCKER_EXEC one runs
 * mariadb-dump or mysqldump, whichever the container has.
 *
 * @module
 */
import "./engine_names.ts";
import { ConnectionStrategy, DbType } from "@backupy/gen/backup/v1/common_pb.ts";
import { Secret } from "../../../decrypt/secret.ts";
import type { EngineModule } from "../shared/engine_module.ts";
import { MYSQL_FORMAT } from "./mysql_format.ts";
import { mysqlTarget, mysqlUrlExtras } from "./mysql_url.ts";
import { MYSQL_DOCKER_RESTORE } from "./docker_restore_recipe.ts";

/** MySQL/MariaDB's entry in the registry. */
export const MYSQL: EngineModule = {
  family: "mysql",
  title: "MySQL/MariaDB",
  names: [{ name: "mysql", dbType: DbType.MYSQL }, { name: "mariadb", dbType: DbType.MARIADB }],
  urlForms: [
    "mysql://user[:password]@host[:port]/[database] (or",
    "mariadb://; password also from MYSQL_PWD)",
  ],
  schemes: { "mysql:": "mysql", "mariadb:": "mariadb" },
  // MariaDB's images before MySQL's: both answer to "mysql" in places.
  images: {
    "mariadb": "mariadb",
    "bitnami/mariadb": "mariadb",
    "mysql": "mysql",
    "percona": "mysql",
    "bitnami/mysql": "mysql",
  },
  imagePatterns: [{ pattern: /^mysql\d+$/, name: "mysql" }],
  envHintKeys: [
    "MYSQL_USER",
    "MYSQL_PASSWORD",
    "MYSQL_ROOT_PASSWORD",
    "MYSQL_DATABASE",
    "MYSQL_ALLOW_EMPTY_PASSWORD",
    "MARIADB_USER",
    "MARIADB_PASSWORD",
    "MARIADB_ROOT_PASSWORD",
    "MARIADB_DATABASE",
  ],
  secretEnv: ["MYSQL_PWD"],
  capabilities: ["mysqldump"],
  formats: [{
    format: MYSQL_FORMAT,
    loadCheck: async () => {
      const { MysqlSqlCheck } = await import("./mysql_sql_check.ts");
      return (_, digests) => new MysqlSqlCheck(digests);
    },
  }],
  scratchRestore: "database",
  dockerRestore: MYSQL_DOCKER_RESTORE,
  targetFromUrl: mysqlTarget,
  urlExtras: mysqlUrlExtras,
  async native({ name, connection, extras }) {
    const { MysqlEngine } = await import("./mysql_engine.ts");
    return new MysqlEngine({
      host: connection.host || "127.0.0.1",
      port: connection.port || 3306,
      socketPath:
        connection.strategy === ConnectionStrategy.UNIX_SOCKET || connection.host.startsWith("/")
          ? connection.host
          : undefined,
      user: connection.username || "root",
      password: connection.passwordSecretRef ? new Secret(connection.passwordSecretRef) : undefined,
      database: connection.database,
      sslMode: extras.sslMode,
      sslCa: extras.sslCa,
      omitDefiner: extras.omitDefiner,
    }, name === "mariadb" ? "mariadb" : "mysql");
  },
  async dockerExec(containers, target, name) {
    const { DockerExecMysqlEngine } = await import("./docker_exec_mysql.ts");
    return new DockerExecMysqlEngine(containers, target, name === "mariadb" ? "mariadb" : "mysql");
  },
};
