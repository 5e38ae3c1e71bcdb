/**
 * PostgreSQL in a throwaway container of its image: the restore with the
 * image's own psql or pg_restore, and the re-read with its pg_dump, under
 * the session settings our dumps pin, so the digests compare.
 *
 * @module
 */
import { type DockerRestoreRecipe, RESTORE_DATABASE } from "../shared/docker_restore_recipe.ts";
import { PG_CUSTOM_FORMAT } from "./postgres_format.ts";

/** PostgreSQL restored with psql (pg_restore for pg_dump archives), re-read with pg_dump. */
export const POSTGRES_DOCKER_RESTORE: DockerRestoreRecipe = {
  kind: "database",
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
  create: ["psql", "-Xq", "-d", "postgres", "-c", `CREATE DATABASE ${RESTORE_DATABASE}`],
  restore: ["psql", "-Xq", "-v", "ON_ERROR_STOP=1", "-o", "/dev/null", "-d", RESTORE_DATABASE],
  // DOCKER_EXEC backups are pg_dump archives: pg_restore reads them from stdin.
  restoreFor: {
    [PG_CUSTOM_FORMAT.description]: [
      "pg_restore",
      "--no-owner",
      "--exit-on-error",
      "-d",
      RESTORE_DATABASE,
    ],
  },
  reread: ["pg_dump", "--data-only", "-d", RESTORE_DATABASE],
  size: ["psql", "-XtAq", "-d", "postgres", "-c", `SELECT pg_database_size('${RESTORE_DATABASE}')`],
  check: async () => new (await import("./postgres_sql_check.ts")).PostgresSqlCheck(true),
};
