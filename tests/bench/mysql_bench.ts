/**
 * Benchmark: the agent's native MariaDB dump against
 * `mariadb-dump --single-transaction` to /dev/null on the same server in
 * the same run (target <= 1.3x), with peak RSS: a large database, then one
 * of many small tables (each with a key, a comment and a row, every tenth
 * with a trigger), where the time per object counts instead of per byte.
 *
 *   BENCH_MYSQL_MIB=1024 BENCH_MYSQL_TABLES=2000 BENCH_ONLY=mysql deno task bench
 */
import { join } from "node:path";
import mysql from "mysql2/promise";
import { AGENT_PERMISSIONS, ROOT } from "../support/programs.ts";
import { measure, type Measurement, measurementLine } from "./measure.ts";

const MIB = Number(Deno.env.get("BENCH_MYSQL_MIB") ?? 1024);
const TABLES = Number(Deno.env.get("BENCH_MYSQL_TABLES") ?? 2000);
const url = new URL(
  Deno.env.get("BACKUPY_TEST_MARIADB_URL") ?? "mariadb://backupy:backupy-test-pw@127.0.0.1:3306/",
);
const server = {
  host: url.hostname,
  port: Number(url.port || 3306),
  user: decodeURIComponent(url.username),
  password: decodeURIComponent(url.password),
};
const DB = "backupy_bench";
const MANY = "backupy_bench_tables";

const conn = await mysql.createConnection({ ...server, multipleStatements: true });
try {
  console.log(`\nmysql benchmark: MariaDB ${MIB} MiB database`);
  const rows = Math.ceil((MIB * 1024 * 1024) / 260);
  await conn.query(
    `DROP DATABASE IF EXISTS ${DB}; CREATE DATABASE ${DB}; USE ${DB};
     CREATE TABLE orders (id BIGINT PRIMARY KEY, customer VARCHAR(64), note TEXT, amount DECIMAL(12,2), created DATETIME(3), payload VARBINARY(64)) ENGINE=InnoDB;`,
  );
  for (let start = 1; start <= rows; start += 500_000) {
    const end = Math.min(rows, start + 499_999);
    await conn.query(
      `INSERT INTO orders SELECT seq, CONCAT('customer-', seq % 10007), REPEAT(CONCAT('note ', seq, ' '), 8), seq * 0.37,
       '2026-01-01' + INTERVAL (seq % 100000) SECOND, UNHEX(SHA2(seq, 256)) FROM seq_${start}_to_${end}`,
    );
  }
  await compare(DB);

  console.log(`\nmysql benchmark: MariaDB, ${TABLES} small tables`);
  const statements = [`DROP DATABASE IF EXISTS ${MANY}; CREATE DATABASE ${MANY}; USE ${MANY};`];
  for (let i = 0; i < TABLES; i++) {
    statements.push(
      `CREATE TABLE t${i} (id INT PRIMARY KEY, note TEXT) COMMENT 'table ${i}';`,
      `INSERT INTO t${i} VALUES (${i}, 'row ${i}');`,
    );
    if (i % 10 === 0) {
      statements.push(
        `CREATE TRIGGER t${i}_bi BEFORE INSERT ON t${i} FOR EACH ROW SET NEW.note = UPPER(NEW.note);`,
      );
    }
  }
  await conn.query(statements.join("\n"));
  await compare(MANY);
} finally {
  await conn.query(`DROP DATABASE IF EXISTS ${DB}; DROP DATABASE IF EXISTS ${MANY}`);
  await conn.end();
}

/** mariadb-dump and our engine, each dumping `database` to nothing; prints both and the ratio. */
async function compare(database: string): Promise<void> {
  const env = { MYSQL_PWD: server.password };
  const reference = await measureWith(env, "sh", [
    "-c",
    `mariadb-dump --single-transaction --routines --triggers --events --hex-blob -h ${server.host} -P ${server.port} -u ${server.user} ${database} > /dev/null`,
  ]);
  const ours = await measureWith(env, Deno.execPath(), [
    "run",
    ...AGENT_PERMISSIONS,
    join(ROOT, "tests/bench/mysql_dump.ts"),
    server.host,
    String(server.port),
    server.user,
    database,
  ]);
  const line = (label: string, m: Measurement) => measurementLine(label, m, 40);
  console.log(line("mariadb-dump --single-transaction", reference));
  console.log(line("backupy MariaDB engine", ours));
  console.log(
    `ratio (ours / mariadb-dump time): ${
      (ours.seconds / reference.seconds).toFixed(2)
    }x (target <= 1.3x)`,
  );
}

async function measureWith(env: Record<string, string>, command: string, args: string[]) {
  const previous = Deno.env.get("MYSQL_PWD");
  Deno.env.set("MYSQL_PWD", env.MYSQL_PWD);
  try {
    return await measure(command, args);
  } finally {
    if (previous === undefined) Deno.env.delete("MYSQL_PWD");
    else Deno.env.set("MYSQL_PWD", previous);
  }
}
