/**
 * The test services' own command-line clients (psql, mariadb), for setting
 * up and inspecting databases the way a person at a shell would.
 */

/** The password of the test services' `backupy` user (PostgreSQL and MariaDB alike). */
export const TEST_PASSWORD = "backupy-test-pw";

async function run(command: string, args: string[], env: Record<string, string>) {
  const out = await new Deno.Command(command, { args, env, stdout: "piped", stderr: "piped" })
    .output();
  if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
  return new TextDecoder().decode(out.stdout).trim();
}

/** Runs `sql` with psql on the test PostgreSQL; its unaligned, tuples-only output. */
export function psql(sql: string, database = "postgres"): Promise<string> {
  return run("psql", ["-XtAqc", sql], {
    PGHOST: "127.0.0.1",
    PGUSER: "backupy",
    PGPASSWORD: TEST_PASSWORD,
    PGDATABASE: database,
  });
}

/** Runs `sql` with the mariadb client on the test MariaDB; its output without headers. */
export function mariadb(sql: string): Promise<string> {
  return run("mariadb", ["--protocol=tcp", "-h", "127.0.0.1", "-u", "backupy", "-N", "-e", sql], {
    MYSQL_PWD: TEST_PASSWORD,
  });
}
