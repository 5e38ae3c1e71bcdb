/**
 * The native MySQL/MariaDB engine against the MariaDB server that
 * tests/services.sh starts (BACKUPY_TEST_MARIADB_URL; BACKUPY_TEST_MYSQL_URL
 * points the same tests at a MySQL 8): a hard fixture - every column type,
 * generated columns, foreign keys, views on views, routines, a trigger, an
 * event, keyword and quoted names, a 200k-row table, a MyISAM table - dumped
 * while a writer runs, restored by the `mariadb` client into another
 * database, and compared object by object with SHOW CREATE and CHECKSUM TABLE.
 */
import {
  assert,
  assertEquals,
  assertMatch,
  assertRejects,
  assertStringIncludes,
} from "../support/assert.ts";
import mysql from "mysql2/promise";
import { join } from "node:path";
import { describeServer, MysqlEngine } from "../../agent/engines/mysql/mysql_engine.ts";
import { DumpError } from "../../agent/engines/shared/engine.ts";
import { Secret } from "../../decrypt/secret.ts";
import { tempDir } from "../support/agent_fixtures.ts";
import { runAgent, runDecrypt } from "../support/programs.ts";
import { MYSQL_FORMAT } from "../../agent/engines/mysql/mysql_format.ts";

const url = new URL(
  Deno.env.get("BACKUPY_TEST_MYSQL_URL") ?? Deno.env.get("BACKUPY_TEST_MARIADB_URL") ??
    "mariadb://backupy:backupy-test-pw@127.0.0.1:3306/",
);
const server = {
  host: url.hostname,
  port: Number(url.port || 3306),
  user: decodeURIComponent(url.username),
  password: decodeURIComponent(url.password),
};
const SOURCE = "backupy_fixture";

async function connect(database?: string) {
  return await mysql.createConnection({
    ...server,
    database,
    multipleStatements: true,
    charset: "utf8mb4",
  });
}

const FIXTURE = `
SET SESSION sql_mode = 'NO_ENGINE_SUBSTITUTION';
CREATE TABLE z_parent (id INT PRIMARY KEY, name VARCHAR(50) NOT NULL UNIQUE) ENGINE=InnoDB;
CREATE TABLE a_child (
  id INT AUTO_INCREMENT PRIMARY KEY,
  parent_id INT,
  note TEXT,
  doubled INT AS (parent_id * 2) VIRTUAL,
  tripled INT AS (parent_id * 3) STORED,
  CONSTRAINT fk_parent FOREIGN KEY (parent_id) REFERENCES z_parent (id) ON DELETE CASCADE
) ENGINE=InnoDB AUTO_INCREMENT=1000;
CREATE TABLE \`select\` (\`from\` INT PRIMARY KEY, \`where\` VARCHAR(10));
CREATE TABLE \`we\`\`ird name\` (\`col umn\` VARCHAR(10));
CREATE TABLE types (
  id INT PRIMARY KEY,
  t TINYINT, su SMALLINT UNSIGNED, m MEDIUMINT, i INT, b BIGINT, bu BIGINT UNSIGNED,
  d DECIMAL(30,10), f FLOAT, dbl DOUBLE, b1 BIT(1), b64 BIT(64),
  dt DATE, dtm DATETIME(6), ts TIMESTAMP(3) NULL, tm TIME(6), y YEAR,
  c CHAR(5), vc VARCHAR(100), tx TEXT, lt LONGTEXT,
  bin BINARY(4), vb VARBINARY(300), bl BLOB,
  e ENUM('a','b','c'), s SET('x','y','z'), j JSON,
  pt POINT, poly POLYGON
);
INSERT INTO z_parent VALUES (1, 'one'), (2, 'two');
INSERT INTO a_child (parent_id, note) VALUES (1, 'first'), (2, NULL), (1, '');
INSERT INTO \`select\` VALUES (1, 'yes');
INSERT INTO \`we\`\`ird name\` VALUES ('odd');
INSERT INTO types VALUES
 (1, -128, 65535, -8388608, -2147483648, -9223372036854775808, 18446744073709551615,
  12345678901234567890.0123456789, 0.1, 1.7976931348623157e308, b'1', b'1010101010101010101010101010101010101010101010101010101010101010',
  '0000-00-00', '2026-11-26 07:31:00.123456', '2026-11-26 07:31:00.123', '-838:59:59.000000', 1901,
  'abc', 'emoji 😀 and ü', 'tab\there\nnewline\\\\backslash ''quote" \\0 nul \\Z ctrl-z', REPEAT('long ', 20000),
  0x00FF0A0D, 0x000102030405FF, NULL,
  'b', 'x,z', '{"k": [1, 2.5, "s"], "n": null}',
  POINT(1.5, -2.25), ST_GeomFromText('POLYGON((0 0,10 0,10 10,0 10,0 0))')),
 (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, -0.0, -1e-300, b'0', b'0', '2000-02-29', '1000-01-01 00:00:00', NULL, '00:00:00', 2155,
  '', '', '', '', 0x00000000, '', '', NULL, '', NULL, NULL, NULL);
UPDATE types SET bl = (SELECT CAST(GROUP_CONCAT(CHAR(seq) SEPARATOR '') AS BINARY) FROM seq_0_to_255) WHERE id = 1;
CREATE TABLE big (id INT PRIMARY KEY, label VARCHAR(40), amount DECIMAL(12,2));
INSERT INTO big SELECT seq, CONCAT('row ', seq), seq * 1.25 FROM seq_1_to_200000;
CREATE TABLE pairs (id INT AUTO_INCREMENT PRIMARY KEY, grp INT NOT NULL) ENGINE=InnoDB;
CREATE TABLE pair_total (n INT NOT NULL) ENGINE=InnoDB;
INSERT INTO pair_total VALUES (0);
CREATE TABLE legacy (id INT PRIMARY KEY) ENGINE=MyISAM;
INSERT INTO legacy VALUES (1), (2);
ANALYZE TABLE big;
`;

/** Views on views: v_a selects from v_b, created after it (alphabetical order is the reverse). */
const VIEWS = `
CREATE VIEW v_b AS SELECT id, doubled FROM a_child WHERE parent_id = 1;
CREATE VIEW v_a AS SELECT id, doubled FROM v_b;
CREATE PROCEDURE add_child(IN p INT, IN n TEXT)
BEGIN
  INSERT INTO a_child (parent_id, note) VALUES (p, n);
  SELECT COUNT(*) FROM a_child;
END;
SET NAMES latin1, sql_mode = 'STRICT_ALL_TABLES,NO_ZERO_DATE';
CREATE FUNCTION twice(x INT) RETURNS INT DETERMINISTIC RETURN x * 2;
SET NAMES utf8mb4 COLLATE utf8mb4_unicode_ci, sql_mode = 'PIPES_AS_CONCAT';
CREATE TRIGGER child_note BEFORE INSERT ON a_child FOR EACH ROW
BEGIN
  IF NEW.note IS NULL THEN SET NEW.note = 'default; with semicolon'; END IF;
END;
SET NAMES utf8mb4, sql_mode = DEFAULT, time_zone = '+05:30';
CREATE EVENT nightly ON SCHEDULE EVERY 1 DAY STARTS '2030-01-01 03:00:00' DISABLE DO DELETE FROM pairs WHERE id < 0;
SET time_zone = DEFAULT;
`;

async function createFixture(): Promise<void> {
  const admin = await connect();
  await admin.query(
    `DROP DATABASE IF EXISTS ${SOURCE}; CREATE DATABASE ${SOURCE} CHARACTER SET utf8mb4`,
  );
  await admin.end();
  const conn = await connect(SOURCE);
  await conn.query(FIXTURE);
  // Compound statements (BEGIN ... END) are parsed by the server: no DELIMITER needed here.
  await conn.query(VIEWS);
  await conn.end();
}

async function dumpToFile(engine: MysqlEngine, path: string, warnings: string[]): Promise<void> {
  const dump = await engine.dump(new AbortController().signal, { warn: (m) => warnings.push(m) });
  using file = await Deno.open(path, { write: true, create: true, truncate: true });
  for await (const chunk of dump.readable) {
    for (let at = 0; at < chunk.length;) at += await file.write(chunk.subarray(at));
  }
  await dump.finished;
}

/** The session settings a stored object keeps (SHOW CREATE's columns beside the statement). */
function sessionOf(row: mysql.RowDataPacket): string {
  return ["sql_mode", "time_zone", "character_set_client", "collation_connection"]
    .filter((column) => column in row).map((column) => `${column}=${row[column]}`).join(" ");
}

async function objects(database: string) {
  const conn = await connect(database);
  const out: Record<string, string> = {};
  const [tables] = await conn.query<mysql.RowDataPacket[]>(
    "SELECT TABLE_NAME AS name, TABLE_TYPE AS type FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME",
    [database],
  );
  for (const { name, type } of tables) {
    const q = "`" + String(name).replaceAll("`", "``") + "`";
    if (type === "VIEW") {
      const [[row]] = await conn.query<mysql.RowDataPacket[]>(`SHOW CREATE VIEW ${q}`);
      out[`view ${name}`] = String(row["Create View"]);
    } else {
      const [[row]] = await conn.query<mysql.RowDataPacket[]>(`SHOW CREATE TABLE ${q}`);
      out[`table ${name}`] = String(row["Create Table"]);
      const [[sum]] = await conn.query<mysql.RowDataPacket[]>(`CHECKSUM TABLE ${q}`);
      out[`checksum ${name}`] = String(sum.Checksum);
    }
  }
  for (
    const [kind, column] of [["PROCEDURE", "Create Procedure"], ["FUNCTION", "Create Function"]]
  ) {
    const [routines] = await conn.query<mysql.RowDataPacket[]>(`SHOW ${kind} STATUS WHERE Db = ?`, [
      database,
    ]);
    for (const r of routines) {
      const [[row]] = await conn.query<mysql.RowDataPacket[]>(`SHOW CREATE ${kind} \`${r.Name}\``);
      out[`${kind} ${r.Name}`] = String(row[column]);
      out[`${kind} ${r.Name} session`] = sessionOf(row);
    }
  }
  const [triggers] = await conn.query<mysql.RowDataPacket[]>("SHOW TRIGGERS");
  for (const t of triggers) {
    out[`trigger ${t.Trigger}`] = `${t.Timing} ${t.Event} ${t.Table}: ${t.Statement}`;
    const [[row]] = await conn.query<mysql.RowDataPacket[]>(
      `SHOW CREATE TRIGGER \`${t.Trigger}\``,
    );
    out[`trigger ${t.Trigger} session`] = sessionOf(row);
  }
  const [events] = await conn.query<mysql.RowDataPacket[]>("SHOW EVENTS");
  for (const e of events) {
    const [[row]] = await conn.query<mysql.RowDataPacket[]>(`SHOW CREATE EVENT \`${e.Name}\``);
    out[`event ${e.Name}`] = String(row["Create Event"]);
    out[`event ${e.Name} session`] = sessionOf(row);
    // The schedule as the server stores it (UTC): a wrong zone moves it.
    const [[stored]] = await conn.query<mysql.RowDataPacket[]>(
      "SELECT CAST(STARTS AS CHAR) AS starts, TIME_ZONE AS tz FROM information_schema.EVENTS WHERE EVENT_SCHEMA = ? AND EVENT_NAME = ?",
      [database, e.Name],
    );
    out[`event ${e.Name} schedule`] = `${stored.starts} ${stored.tz}`;
  }
  await conn.end();
  return out;
}

Deno.test("a hard fixture dumped under a writer restores with the mariadb client, object for object", async () => {
  await createFixture();
  await using dir = await tempDir("backupy-mysql-");
  const engine = new MysqlEngine({
    ...server,
    password: new Secret(server.password),
    database: SOURCE,
  });
  assertMatch(await engine.version(), /^(MariaDB|MySQL) \d+\.\d+\.\d+$/);
  assert(((await engine.estimateSize()) ?? 0) > 1_000_000);

  // A writer adds two rows and bumps the total in each transaction while we dump.
  const writer = await connect(SOURCE);
  let stop = false;
  let transactions = 0;
  const writing = (async () => {
    for (let g = 1; !stop; g++) {
      await writer.query(
        "START TRANSACTION; INSERT INTO pairs (grp) VALUES (?), (?); UPDATE pair_total SET n = n + 2; COMMIT",
        [g, g],
      );
      transactions++;
    }
  })();
  await new Promise((r) => setTimeout(r, 30));
  const dumpPath = join(dir.path, "dump.sql");
  const warnings: string[] = [];
  await dumpToFile(engine, dumpPath, warnings);
  stop = true;
  await writing;
  await writer.end();
  assert(transactions > 0, "the writer ran during the dump");
  assertEquals(warnings.length, 1);
  assertStringIncludes(warnings[0], `table ${SOURCE}.legacy uses MyISAM`);

  const text = await Deno.readTextFile(dumpPath);
  assertEquals(MYSQL_FORMAT.checkHeader(new TextEncoder().encode(text.slice(0, 64))), null);
  assert(!/CREATE DATABASE|^USE /m.test(text), "a single-database dump names no database");
  assertMatch(text, /-- Dump completed on .+\n$/);
  assert(
    !text.includes("INSERT INTO `a_child` (`id`,`parent_id`,`note`,`doubled`"),
    "generated columns left out",
  );
  for (const statement of text.split(";\n")) {
    assert(
      new TextEncoder().encode(statement).length < 2 * 1024 * 1024,
      "every statement fits max_allowed_packet",
    );
  }

  const target = "backupy_restored";
  const admin = await connect();
  await admin.query(
    `DROP DATABASE IF EXISTS ${target}; CREATE DATABASE ${target} CHARACTER SET utf8mb4`,
  );
  const restore = await new Deno.Command("sh", {
    args: [
      "-c",
      `mariadb -h ${server.host} -P ${server.port} -u ${server.user} ${target} < ${dumpPath}`,
    ],
    env: { MYSQL_PWD: server.password },
    stdout: "piped",
    stderr: "piped",
  }).output();
  assertEquals(restore.code, 0, new TextDecoder().decode(restore.stderr));

  // The snapshot is one point in time: the pair invariant holds in the restore.
  const [[invariant]] = await admin.query<mysql.RowDataPacket[]>(
    `SELECT (SELECT n FROM ${target}.pair_total) AS total, (SELECT COUNT(*) FROM ${target}.pairs) AS rows_, ` +
      `(SELECT COUNT(*) FROM (SELECT grp FROM ${target}.pairs GROUP BY grp HAVING COUNT(*) != 2) x) AS half`,
  );
  assertEquals(Number(invariant.rows_), Number(invariant.total));
  assertEquals(Number(invariant.half), 0);
  // Apart from the rows the writer added after the snapshot, source and restore are equal.
  await admin.query(
    `DELETE FROM ${SOURCE}.pairs WHERE id > (SELECT COALESCE(MAX(id), 0) FROM ${target}.pairs)`,
  );
  await admin.query(`UPDATE ${SOURCE}.pair_total SET n = (SELECT n FROM ${target}.pair_total)`);
  const [[autoIncrement]] = await admin.query<mysql.RowDataPacket[]>(
    `SELECT AUTO_INCREMENT AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 'pairs'`,
    [target],
  );
  await admin.query(`ALTER TABLE ${SOURCE}.pairs AUTO_INCREMENT = ${Number(autoIncrement.n)}`);
  await admin.end();

  const before = await objects(SOURCE);
  const after = await objects(target);
  assertEquals(Object.keys(after).sort(), Object.keys(before).sort());
  for (const key of Object.keys(before)) assertEquals(after[key], before[key], key);
});

Deno.test("server names and failures: unknown database, wrong password", async () => {
  assertEquals(describeServer("10.11.19-MariaDB-0+deb12u1"), {
    flavor: "MariaDB",
    label: "MariaDB 10.11.19",
  });
  assertEquals(describeServer("5.5.5-10.6.12-MariaDB"), {
    flavor: "MariaDB",
    label: "MariaDB 10.6.12",
  });
  assertEquals(describeServer("8.0.36"), { flavor: "MySQL", label: "MySQL 8.0.36" });
  const missing = new MysqlEngine({
    ...server,
    password: new Secret(server.password),
    database: "no_such_db_here",
  });
  await assertRejects(
    () => missing.dump(new AbortController().signal),
    DumpError,
    "database no_such_db_here does not exist",
  );
  const wrong = new MysqlEngine({
    ...server,
    password: new Secret("definitely-wrong-pw"),
    database: "",
  });
  const error = await assertRejects(
    () => wrong.dump(new AbortController().signal),
    DumpError,
    "cannot connect",
  );
  assert(!error.message.includes("definitely-wrong-pw"));
});

Deno.test("local mode: mariadb:// with MYSQL_PWD, header and sandbox-line check", async () => {
  await using dir = await tempDir("backupy-mysql-local-");
  const admin = await connect();
  await admin.query(
    "DROP DATABASE IF EXISTS backupy_small; CREATE DATABASE backupy_small; CREATE TABLE backupy_small.t (id INT PRIMARY KEY)",
  );
  await admin.end();
  const result = await runAgent(
    [
      "backup",
      "--target",
      `mariadb://${server.user}@${server.host}:${server.port}/backupy_small`,
      "--out",
      join(dir.path, "s.enc"),
      "--generate-key",
      join(dir.path, "s.key"),
    ],
    { MYSQL_PWD: server.password },
  );
  assertEquals(result.code, 0, result.stderr);
  assertMatch(result.stderr, /OK: backed up (MariaDB|MySQL) \d/);
  assert(!result.stderr.includes(server.password));
  const sandbox = new TextEncoder().encode(
    "/*M!999999\\- enable the sandbox mode */\n-- MariaDB dump 10.19",
  );
  assertEquals(MYSQL_FORMAT.checkHeader(sandbox), null);
  assert(
    MYSQL_FORMAT.checkHeader(
      new TextEncoder().encode("ERROR 1045 (28000): Access denied for user"),
    ) !== null,
  );
});

Deno.test("every non-system database with CREATE DATABASE and USE when no database is named", async () => {
  const admin = await connect();
  await admin.query(
    "DROP DATABASE IF EXISTS backupy_all_a; CREATE DATABASE backupy_all_a; CREATE TABLE backupy_all_a.t (id INT PRIMARY KEY); INSERT INTO backupy_all_a.t VALUES (7)",
  );
  // A user who sees this test's database and the system ones, and not the
  // databases other test files create and drop meanwhile: a snapshot of the
  // whole server cannot read a table created after it began.
  await admin.query("DROP USER IF EXISTS 'backupy_all'@'%'");
  await admin.query("CREATE USER 'backupy_all'@'%' IDENTIFIED BY 'all-pw-1'");
  for (const database of ["backupy_all_a", "mysql", "sys"]) {
    await admin.query(
      `GRANT SELECT, SHOW VIEW, TRIGGER, EVENT ON ${database}.* TO 'backupy_all'@'%'`,
    );
  }
  try {
    await using dir = await tempDir("backupy-mysql-all-");
    const engine = new MysqlEngine({
      ...server,
      user: "backupy_all",
      password: new Secret("all-pw-1"),
      database: "",
    });
    const path = join(dir.path, "all.sql");
    await dumpToFile(engine, path, []);
    const text = await Deno.readTextFile(path);
    assertMatch(text, /CREATE DATABASE \/\*!32312 IF NOT EXISTS\*\/ `backupy_all_a`/);
    assertStringIncludes(text, "USE `backupy_all_a`;");
    assertStringIncludes(text, "INSERT INTO `t` (`id`) VALUES (7);");
    assert(!text.includes(`USE \`${SOURCE}\`;`), "only the databases the user may see");
    for (const system of ["mysql", "sys", "information_schema", "performance_schema"]) {
      assert(!text.includes(`USE \`${system}\`;`), system);
    }
  } finally {
    await admin.query("DROP USER IF EXISTS 'backupy_all'@'%'");
    await admin.end();
  }
});

Deno.test("a UNIX socket connection (local mode ?socket=)", async () => {
  const socket = "/run/mysqld/mysqld.sock";
  await using dir = await tempDir("backupy-mysql-sock-");
  const result = await runAgent(
    [
      "backup",
      "--target",
      `mariadb://${server.user}@localhost/backupy_all_a?socket=${socket}`,
      "--out",
      join(dir.path, "s.enc"),
      "--generate-key",
      join(dir.path, "s.key"),
    ],
    { MYSQL_PWD: server.password },
  );
  assertEquals(result.code, 0, result.stderr);
});

Deno.test("a connection killed mid-dump and a table the user may not read fail with a clear message", async () => {
  await createFixture();
  const admin = await connect();
  // A user who sees `types` (it may insert there) but may not read it.
  await admin.query("DROP USER IF EXISTS 'backupy_partial'@'%'");
  await admin.query("CREATE USER 'backupy_partial'@'%' IDENTIFIED BY 'partial-pw-1'");
  await admin.query(`GRANT SELECT ON ${SOURCE}.z_parent TO 'backupy_partial'@'%'`);
  await admin.query(`GRANT INSERT ON ${SOURCE}.types TO 'backupy_partial'@'%'`);
  try {
    const partial = new MysqlEngine({
      ...server,
      user: "backupy_partial",
      password: new Secret("partial-pw-1"),
      database: SOURCE,
    });
    const dump = await partial.dump(new AbortController().signal);
    const outcome = await Promise.allSettled([new Response(dump.readable).bytes(), dump.finished]);
    const reason = outcome.find((o) => o.status === "rejected") as
      | PromiseRejectedResult
      | undefined;
    assert(reason, "the dump must fail, not skip the table");
    assertStringIncludes(String(reason.reason?.message), "types");
    assert(!String(reason.reason?.message).includes("partial-pw-1"));

    const engine = new MysqlEngine({
      ...server,
      password: new Secret(server.password),
      database: SOURCE,
    });
    const killed = await engine.dump(new AbortController().signal);
    // Read the first piece: the dump has USEd the database, so it shows up in the process list.
    const reader = killed.readable.getReader();
    await reader.read();
    const [[{ id }]] = await admin.query<mysql.RowDataPacket[]>(
      "SELECT ID AS id FROM information_schema.PROCESSLIST WHERE USER = ? AND DB = ? ORDER BY ID DESC LIMIT 1",
      [server.user, SOURCE],
    );
    await admin.query(`KILL CONNECTION ${Number(id)}`);
    const drain = async () => {
      while (!(await reader.read()).done) { /* discard */ }
    };
    const result = await Promise.allSettled([drain(), killed.finished]);
    assert(result.some((r) => r.status === "rejected"), "a killed connection fails the dump");
  } finally {
    await admin.query("DROP USER IF EXISTS 'backupy_partial'@'%'");
    await admin.end();
  }
});

Deno.test("a table rebuilt during the dump, after the snapshot began, fails it saying which and what to do", async () => {
  const database = "backupy_ddl_race";
  const admin = await connect();
  // More rows than a piece holds: the dump is still in `a_big` when it waits for its reader.
  await admin.query(
    `DROP DATABASE IF EXISTS ${database}; CREATE DATABASE ${database}; USE ${database};
     CREATE TABLE a_big (id INT PRIMARY KEY, v TEXT);
     CREATE TABLE z_late (id INT PRIMARY KEY); INSERT INTO z_late VALUES (1);`,
  );
  const big = Array.from({ length: 20_000 }, (_, i) => `(${i}, '${"x".repeat(100)}')`);
  await admin.query(`INSERT INTO ${database}.a_big VALUES ${big.join(",")}`);
  try {
    const engine = new MysqlEngine({
      ...server,
      password: new Secret(server.password),
      database,
    });
    const dump = await engine.dump(new AbortController().signal);
    const reader = dump.readable.getReader();
    await reader.read();
    await admin.query(`TRUNCATE TABLE ${database}.z_late`);
    const drain = async () => {
      while (!(await reader.read()).done) { /* discard */ }
    };
    const outcome = await Promise.allSettled([drain(), dump.finished]);
    const failure = outcome.find((o) => o.status === "rejected") as
      | PromiseRejectedResult
      | undefined;
    assert(failure, "the dump must fail: z_late's rows of the snapshot are gone");
    assert(failure.reason instanceof DumpError, String(failure.reason));
    assertStringIncludes(failure.reason.message, `table ${database}.z_late was created, truncated`);
    assertStringIncludes(failure.reason.message, "run the backup again");
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS ${database}`);
    await admin.end();
  }
});

Deno.test("native restore: backupy-agent restore replays our dump into another database, object for object", async () => {
  await createFixture();
  await using dir = await tempDir("backupy-mysql-restore-");
  const out = join(dir.path, "b.enc");
  const key = join(dir.path, "b.key");
  const env = { MYSQL_PWD: server.password };
  const base = `mariadb://${server.user}@${server.host}:${server.port}`;
  const backup = await runAgent([
    "backup",
    "--target",
    `${base}/${SOURCE}`,
    "--out",
    out,
    "--generate-key",
    key,
  ], env);
  assertEquals(backup.code, 0, backup.stderr);
  const sha = /sha256:\s+([0-9a-f]{64})/.exec(backup.stderr)![1];

  const target = "backupy_native_restored";
  const admin = await connect();
  await admin.query(`DROP DATABASE IF EXISTS ${target}`);
  const restore = await runAgent([
    "restore",
    "--target",
    `${base}/${target}`,
    "--in",
    out,
    "--key-file",
    key,
    "--sha256",
    sha,
  ], env);
  assertEquals(restore.code, 0, restore.stderr);
  assertMatch(restore.stderr, /OK: restored \d+ statements/);
  const before = await objects(SOURCE);
  const after = await objects(target);
  assertEquals(Object.keys(after).sort(), Object.keys(before).sort());
  for (const name of Object.keys(before)) assertEquals(after[name], before[name], name);

  // A corrupted file is refused before a single statement runs: the database is not even created.
  const bytes = await Deno.readFile(out);
  bytes[bytes.length - 100] ^= 1;
  await Deno.writeFile(out, bytes);
  const other = "backupy_never_created";
  await admin.query(`DROP DATABASE IF EXISTS ${other}`);
  const refused = await runAgent([
    "restore",
    "--target",
    `${base}/${other}`,
    "--in",
    out,
    "--key-file",
    key,
    "--sha256",
    sha,
  ], env);
  assertEquals(refused.code, 1);
  assertStringIncludes(refused.stderr, "AES-GCM authentication failed");
  const [found] = await admin.query<mysql.RowDataPacket[]>("SHOW DATABASES LIKE ?", [other]);
  assertEquals(found.length, 0);
  await admin.end();
});

Deno.test("?definer=omit leaves DEFINER out of views, routines, triggers and events", async () => {
  await createFixture();
  await using dir = await tempDir("backupy-mysql-definer-");
  const out = join(dir.path, "d.enc");
  const key = join(dir.path, "d.key");
  const result = await runAgent(
    [
      "backup",
      "--target",
      `mariadb://${server.user}@${server.host}:${server.port}/${SOURCE}?definer=omit`,
      "--out",
      out,
      "--generate-key",
      key,
      "--compression",
      "none",
    ],
    { MYSQL_PWD: server.password },
  );
  assertEquals(result.code, 0, result.stderr);
  const sql = join(dir.path, "d.sql");
  const decrypted = await runDecrypt([
    "--key-file",
    key,
    "--in",
    out,
    "--out",
    sql,
    "--skip-decompress",
    "--quiet",
  ]);
  assertEquals(decrypted.code, 0, decrypted.stderr);
  const text = await Deno.readTextFile(sql);
  assert(!text.includes("DEFINER="), "no DEFINER left");
  for (
    const object of [
      "VIEW `v_a`",
      "PROCEDURE `add_child`",
      "FUNCTION `twice`",
      "TRIGGER child_note",
      "EVENT `nightly`",
    ]
  ) {
    assert(text.includes(object), `${object} is in the dump`);
  }
});

Deno.test("ssl-mode REQUIRED, VERIFY_CA and VERIFY_IDENTITY against a server with TLS; another CA is refused", async () => {
  const tls = Deno.env.get("BACKUPY_TEST_TLS_DIR") ?? "/var/lib/backupy-test-tls";
  const admin = await connect();
  // This user may only connect over TLS: a plain connection would be refused.
  await admin.query(
    "DROP USER IF EXISTS 'backupy_tls'@'%'; CREATE USER 'backupy_tls'@'%' IDENTIFIED BY 'tls-pw-1' REQUIRE SSL",
  );
  await admin.query(
    "DROP DATABASE IF EXISTS backupy_tls_db; CREATE DATABASE backupy_tls_db; CREATE TABLE backupy_tls_db.t (id INT PRIMARY KEY)",
  );
  await admin.query(
    "GRANT SELECT, SHOW VIEW, EVENT, TRIGGER ON backupy_tls_db.* TO 'backupy_tls'@'%'",
  );
  try {
    await using dir = await tempDir("backupy-mysql-tls-");
    const run = (query: string, name: string) =>
      runAgent(
        [
          "backup",
          "--target",
          `mariadb://backupy_tls@127.0.0.1:${server.port}/backupy_tls_db?${query}`,
          "--out",
          join(dir.path, `${name}.enc`),
          "--generate-key",
          join(dir.path, `${name}.key`),
        ],
        { MYSQL_PWD: "tls-pw-1" },
      );
    for (
      const [query, name] of [
        ["ssl-mode=REQUIRED", "required"],
        [`ssl-mode=VERIFY_CA&ssl-ca=${tls}/ca.pem`, "verify-ca"],
        [`ssl-mode=VERIFY_IDENTITY&ssl-ca=${tls}/ca.pem`, "verify-identity"],
      ]
    ) {
      const result = await run(query, name);
      assertEquals(result.code, 0, `${name}: ${result.stderr}`);
    }
    const plain = await run("ssl-mode=DISABLED", "plain");
    assertEquals(plain.code, 1, "the REQUIRE SSL user cannot connect without TLS");
    const wrongCa = await run(`ssl-mode=VERIFY_CA&ssl-ca=${tls}/other-ca.pem`, "wrong-ca");
    assertEquals(wrongCa.code, 1);
    assertStringIncludes(wrongCa.stderr, "cannot connect");
    assert(!wrongCa.stderr.includes("tls-pw-1"));
  } finally {
    await admin.query("DROP USER IF EXISTS 'backupy_tls'@'%'");
    await admin.end();
  }
});
