/**
 * The PostgreSQL server the benchmarks run against: BACKUPY_TEST_PG_URL, or
 * the test service's default. Its password is put in PGPASSWORD for psql,
 * pg_dump and pgbench, never in their argv.
 */
const url = new URL(
  Deno.env.get("BACKUPY_TEST_PG_URL") ??
    "postgres://backupy:backupy-test-pw@127.0.0.1:5432/postgres",
);
Deno.env.set("PGPASSWORD", decodeURIComponent(url.password));

/** Host, port and user of the server. */
export const PG_SERVER = {
  host: url.hostname,
  port: url.port || "5432",
  user: decodeURIComponent(url.username),
};

/** `-h HOST -p PORT -U USER`, for psql, pg_dump and pgbench. */
export const PG_CLIENT_ARGS: readonly string[] = [
  "-h",
  PG_SERVER.host,
  "-p",
  PG_SERVER.port,
  "-U",
  PG_SERVER.user,
];

/** The agent's target URL for `database` (the password comes from PGPASSWORD). */
export function pgTarget(database: string): string {
  return `postgres://${PG_SERVER.user}@${PG_SERVER.host}:${PG_SERVER.port}/${database}`;
}
