/**
 * What only MariaDB has, held to mariadb-dump. Sequences (CREATE SEQUENCE,
 * 10.3 and later): one used by a table's default, one that has cycled, one
 * beyond a JavaScript number's exact range; our backup restored with the
 * mariadb client and with `backupy-agent restore`, and a mariadb-dump round
 * trip, must agree on every sequence's definition and state and on the
 * rows, and the next value each hands out must be the same. A
 * system-versioned table: its current rows restore, and the backup says that
 * its history is not in it. On a MySQL server (BACKUPY_TEST_MYSQL_URL) these
 * tests are left out.
 */
import { tempDir } from "../support/agent_fixtures.ts";
import { assertEquals, assertStringIncludes } from "../support/assert.ts";
import { backupToSql, runAgent } from "../support/programs.ts";
import { mariadb, TEST_PASSWORD } from "../support/sql_clients.ts";

const SOURCE = "backupy_sequences";
const COPIES = {
  client: "backupy_sequences_client",
  agent: "backupy_sequences_agent",
  reference: "backupy_sequences_mariadb_dump",
};
const onMySql = Deno.env.get("BACKUPY_TEST_MYSQL_URL") !== undefined;

const FIXTURE = `
CREATE SEQUENCE s_ids;
CREATE TABLE items (id INT NOT NULL DEFAULT NEXTVAL(s_ids) PRIMARY KEY, name TEXT);
INSERT INTO items (name) VALUES ('a'), ('b'), ('c');
CREATE SEQUENCE s_cycle START WITH 1 MINVALUE 1 MAXVALUE 3 CACHE 0 CYCLE;
DO NEXTVAL(s_cycle), NEXTVAL(s_cycle), NEXTVAL(s_cycle), NEXTVAL(s_cycle);
CREATE SEQUENCE s_big START WITH 9007199254740993 INCREMENT BY 7 CACHE 0;
DO NEXTVAL(s_big);
CREATE SEQUENCE s_down START WITH -10 INCREMENT BY -2 MINVALUE -1000 MAXVALUE -1 CACHE 5;
DO NEXTVAL(s_down);
`;

/** The mariadb client replaying `file` into `database`. */
async function replay(database: string, file: string): Promise<void> {
  const child = new Deno.Command("mariadb", {
    args: ["--protocol=tcp", "-h", "127.0.0.1", "-u", "backupy", database],
    env: { MYSQL_PWD: TEST_PASSWORD },
    stdin: "piped",
    stderr: "piped",
  }).spawn();
  using input = await Deno.open(file);
  await input.readable.pipeTo(child.stdin);
  const done = await child.output();
  assertEquals(done.code, 0, new TextDecoder().decode(done.stderr));
}

/** Every sequence's definition and row, the table's rows, and each sequence's next value (taken). */
async function state(database: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const sequence of ["s_ids", "s_cycle", "s_big", "s_down"]) {
    const create = await mariadb(`SHOW CREATE SEQUENCE ${database}.${sequence}`);
    out[`${sequence} definition`] = create.split("\t")[1];
    out[`${sequence} row`] = await mariadb(
      `SELECT next_not_cached_value, minimum_value, maximum_value, start_value, increment,
       cache_size, cycle_option FROM ${database}.${sequence}`,
    );
    out[`${sequence} next`] = await mariadb(`SELECT NEXTVAL(${database}.${sequence})`);
  }
  out.items = await mariadb(`SELECT id, name FROM ${database}.items ORDER BY id`);
  return out;
}

Deno.test({
  name: "MariaDB sequences: restored with the client and the agent, as a mariadb-dump round trip",
  ignore: onMySql,
  fn: async () => {
    await using dir = await tempDir("backupy-mysql-sequences-");
    const databases = [SOURCE, ...Object.values(COPIES)];
    try {
      for (const database of databases) await mariadb(`DROP DATABASE IF EXISTS ${database}`);
      await mariadb(`CREATE DATABASE ${SOURCE}; USE ${SOURCE}; ${FIXTURE}`);
      const source = `mariadb://backupy:${TEST_PASSWORD}@127.0.0.1:3306/${SOURCE}`;
      const { sql } = await backupToSql(source, dir.path, "sequences");

      await mariadb(`CREATE DATABASE ${COPIES.client}; CREATE DATABASE ${COPIES.reference}`);
      await replay(COPIES.client, sql);
      const restored = await runAgent([
        "restore",
        "--target",
        `mariadb://backupy:${TEST_PASSWORD}@127.0.0.1:3306/${COPIES.agent}`,
        "--in",
        `${dir.path}/sequences.enc`,
        "--key-file",
        `${dir.path}/sequences.key`,
      ]);
      assertEquals(restored.code, 0, restored.stderr);
      const reference = `${dir.path}/reference.sql`;
      const dumped = await new Deno.Command("mariadb-dump", {
        args: [
          "--protocol=tcp",
          "-h",
          "127.0.0.1",
          "-u",
          "backupy",
          // Its LOCK TABLES would fail the INSERTs here: the table's default
          // names the source's sequence, which the lock does not cover.
          "--skip-add-locks",
          `--result-file=${reference}`,
          SOURCE,
        ],
        env: { MYSQL_PWD: TEST_PASSWORD },
        stderr: "piped",
      }).output();
      assertEquals(dumped.code, 0, new TextDecoder().decode(dumped.stderr));
      await replay(COPIES.reference, reference);

      const expected = await state(COPIES.reference);
      assertEquals(await state(COPIES.client), expected, "restored by the mariadb client");
      assertEquals(await state(COPIES.agent), expected, "restored by the agent");
    } finally {
      for (const database of databases) {
        await mariadb(`DROP DATABASE IF EXISTS ${database}`).catch(() => {});
      }
    }
  },
});

Deno.test({
  name: "a MariaDB system-versioned table: current rows restored, the missing history said",
  ignore: onMySql,
  fn: async () => {
    const database = "backupy_versioned";
    const copy = "backupy_versioned_copy";
    await using dir = await tempDir("backupy-mysql-versioned-");
    try {
      for (const name of [database, copy]) await mariadb(`DROP DATABASE IF EXISTS ${name}`);
      await mariadb(
        `CREATE DATABASE ${database}; USE ${database};
         CREATE TABLE prices (id INT PRIMARY KEY, price INT) WITH SYSTEM VERSIONING;
         INSERT INTO prices VALUES (1, 10), (2, 20); UPDATE prices SET price = 11 WHERE id = 1;`,
      );
      const source = `mariadb://backupy:${TEST_PASSWORD}@127.0.0.1:3306/${database}`;
      const { sql, backup } = await backupToSql(source, dir.path, "versioned");
      assertStringIncludes(
        backup.stderr,
        `warning: table ${database}.prices is system-versioned: the dump holds its current rows, not its history`,
      );
      await mariadb(`CREATE DATABASE ${copy}`);
      await replay(copy, sql);
      assertEquals(
        await mariadb(`SELECT id, price FROM ${copy}.prices ORDER BY id`),
        "1\t11\n2\t20",
      );
      assertStringIncludes(
        await mariadb(`SHOW CREATE TABLE ${copy}.prices`),
        "WITH SYSTEM VERSIONING",
      );
    } finally {
      for (const name of [database, copy]) {
        await mariadb(`DROP DATABASE IF EXISTS ${name}`).catch(() => {});
      }
    }
  },
});
