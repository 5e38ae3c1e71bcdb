/**
 * MySQL/MariaDB in a throwaway container of its image: the restore with the
 * image's mariadb or mysql client, the re-read with its dump tool writing
 * the literals our own dumps write (binary as hex, UTC).
 *
 * @module
 */
import { firstAvailable } from "../shared/docker_exec_engine.ts";
import { type DockerRestoreRecipe, RESTORE_DATABASE } from "../shared/docker_restore_recipe.ts";

const MYSQL_CLIENT = ["mariadb", "mysql"];
/** The image's MySQL/MariaDB client as root over TCP, with `args`. */
const mysqlClient = (...args: string[]) =>
  firstAvailable(MYSQL_CLIENT, ["-h127.0.0.1", "-uroot", ...args]);
/** MySQL/MariaDB restored with the image's client, re-read with its dump tool. */
export const MYSQL_DOCKER_RESTORE: DockerRestoreRecipe = {
  kind: "database",
  containerEnv: (password) => ({
    MARIADB_ROOT_PASSWORD: password,
    MYSQL_ROOT_PASSWORD: password,
  }),
  execEnv: (password) => ({ MYSQL_PWD: password }),
  ready: mysqlClient("-e", "SELECT 1"),
  create: mysqlClient("-e", `CREATE DATABASE ${RESTORE_DATABASE}`),
  restore: mysqlClient(RESTORE_DATABASE),
  // Binary as hex, UTC, one snapshot: the literals our own dump writes.
  reread: firstAvailable(["mariadb-dump", "mysqldump"], [
    "-h127.0.0.1",
    "-uroot",
    "--hex-blob",
    "--tz-utc",
    "--single-transaction",
    "--no-create-info",
    "--skip-triggers",
    RESTORE_DATABASE,
  ]),
  size: mysqlClient(
    "-N",
    "-e",
    "SELECT COALESCE(SUM(data_length + index_length), 0) FROM information_schema.TABLES " +
      `WHERE table_schema = '${RESTORE_DATABASE}'`,
  ),
  check: async () => new (await import("./mysql_sql_check.ts")).MysqlSqlCheck(true),
};
