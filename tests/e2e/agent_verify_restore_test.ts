/**
 * `backupy-agent verify --level restore` as a user runs it: a SQLite backup
 * restored into a temporary file, a PostgreSQL backup into a scratch
 * database on the test server, both re-read and compared with their
 * manifests; the scratch database is gone afterwards, also when the check
 * is interrupted with SIGTERM in the middle of the restore.
 */
import { join } from "node:path";
import { makeSqliteDatabase, tempDir } from "../support/agent_fixtures.ts";
import { assert, assertEquals, assertMatch, assertStringIncludes } from "../support/assert.ts";
import { agentArgv, runAgent, runDecrypt } from "../support/programs.ts";
import { compress, encryptV1, sha256Hex } from "../support/v1_fixtures.ts";
import { readManifest, writeManifest } from "../../agent/manifest/backup_manifest.ts";
import { dekFromKeyFile, importDek } from "../../decrypt/dek.ts";
import { mariadb, psql, TEST_PASSWORD } from "../support/sql_clients.ts";
import { waitUntil } from "../support/wait.ts";

const SCRATCH = `postgres://backupy:${TEST_PASSWORD}@127.0.0.1:5432/`;

/** The scratch databases there are now (those of other tests running in parallel too). */
async function scratchDatabasesNow(): Promise<string[]> {
  return (await psql("SELECT datname FROM pg_database WHERE datname LIKE 'backupy_verify_%'"))
    .split("\n").filter(Boolean);
}

/** A new database on the test PostgreSQL, dropped when disposed. */
async function sourceDatabase(prefix: string): Promise<{ name: string } & AsyncDisposable> {
  const name = `${prefix}_${crypto.randomUUID().slice(0, 8)}`;
  await psql(`CREATE DATABASE ${name}`);
  return {
    name,
    [Symbol.asyncDispose]: async () => {
      await psql(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    },
  };
}

/**
 * Waits until no scratch database made since `before` is left: other tests'
 * checks (the conformance test's) make and drop their own meanwhile, so only
 * one that stays is a leak.
 */
async function noScratchLeft(before: string[], what: string): Promise<void> {
  const left = await waitUntil(
    what,
    async () => (await scratchDatabases(before)).length === 0 || null,
    20_000,
  ).catch(async () => await scratchDatabases(before));
  assertEquals(left === true ? [] : left, [], what);
}

/** Scratch databases that verify left behind (there must be none). */
async function scratchDatabases(before: string[]): Promise<string[]> {
  const now = (await psql("SELECT datname FROM pg_database WHERE datname LIKE 'backupy_verify_%'"))
    .split("\n").filter(Boolean);
  return now.filter((name) => !before.includes(name));
}

Deno.test("verify --level restore: SQLite into a temporary file", async () => {
  await using dir = await tempDir("backupy-verify-restore-sqlite-");
  const database = join(dir.path, "app.db");
  makeSqliteDatabase(database, 5000);
  const out = join(dir.path, "app.enc");
  const key = join(dir.path, "app.key");
  assertEquals(
    (await runAgent([
      "backup",
      "--target",
      `sqlite://${database}`,
      "--out",
      out,
      "--generate-key",
      key,
    ])).code,
    0,
  );
  const verified = await runAgent(["verify", "--in", out, "--key-file", key, "--level", "restore"]);
  assertEquals(verified.code, 0, verified.stderr);
  assertStringIncludes(verified.stderr, "level restore proved");
  assertStringIncludes(verified.stderr, "objects equal the manifest's");
  assertEquals(
    (await runAgent([
      "verify",
      "--in",
      out,
      "--key-file",
      key,
      "--level",
      "restore",
      "--scratch",
      "x",
    ])).code,
    0,
  );
});

Deno.test("verify --level restore: PostgreSQL into a scratch database that is always dropped", async () => {
  const before = await scratchDatabasesNow();
  await using db = await sourceDatabase("backupy_restore_src");
  const source = db.name;
  await using dir = await tempDir("backupy-verify-restore-pg-");
  await psql(
    `CREATE TABLE big AS SELECT g AS id, md5(g::text) AS s, now() AS at, g * 1.5 AS f, interval '1 day' * g AS i
       FROM generate_series(1, 600000) g;
     CREATE TABLE small (id int PRIMARY KEY, note text, b bytea);
     INSERT INTO small VALUES (1, 'one', '\\x00ff10'::bytea);`,
    source,
  );
  // A server whose bytea default is 'escape': the dump pins hex, so the digests of the
  // source and of the restored copy (on a server left at hex) still agree.
  await psql(`ALTER DATABASE ${source} SET bytea_output = 'escape'`);
  const out = join(dir.path, "pg.enc");
  const key = join(dir.path, "pg.key");
  const backup = await runAgent(
    [
      "backup",
      "--target",
      `postgres://backupy@127.0.0.1:5432/${source}`,
      "--out",
      out,
      "--generate-key",
      key,
    ],
    { PGPASSWORD: "backupy-test-pw" },
  );
  assertEquals(backup.code, 0, backup.stderr);

  const noScratch = await runAgent([
    "verify",
    "--in",
    out,
    "--key-file",
    key,
    "--level",
    "restore",
  ]);
  assertEquals(noScratch.code, 1);
  assertStringIncludes(noScratch.stderr, "needs a scratch server (--scratch postgres://");

  const verified = await runAgent([
    "verify",
    "--in",
    out,
    "--key-file",
    key,
    "--level",
    "restore",
    "--scratch",
    SCRATCH,
  ]);
  assertEquals(verified.code, 0, verified.stderr);
  assertStringIncludes(verified.stderr, "restore: restored in");
  // The restored database's size is reported beside the time.
  assertMatch(verified.stderr, /restore: restored in [\d.]+ s \([\d.]+ MiB\) and read back/);
  await noScratchLeft(before, "the scratch database was dropped");

  // Interrupted while restoring: the scratch database is still dropped.
  const [command, args] = agentArgv([
    "verify",
    "--in",
    out,
    "--key-file",
    key,
    "--level",
    "restore",
    "--scratch",
    SCRATCH,
  ]);
  const child = new Deno.Command(command, { args, stdout: "null", stderr: "piped" }).spawn();
  const deadline = Date.now() + 30_000;
  while ((await scratchDatabases(before)).length === 0) {
    assert(Date.now() < deadline, "the restore never started");
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill("SIGTERM");
  const status = await child.output();
  const stderr = new TextDecoder().decode(status.stderr);
  assert(status.code !== 0, "an interrupted verify does not claim success");
  await noScratchLeft(before, `dropped after SIGTERM too: ${stderr}`);
});

Deno.test("verify --level restore: a PostgreSQL dump whose restore fails midway is reported with the failing statement", async () => {
  const before = await scratchDatabasesNow();
  await using db = await sourceDatabase("backupy_restore_fail");
  const source = db.name;
  await using dir = await tempDir("backupy-verify-restore-fail-");
  await psql(
    // The failing statement goes before second_t's many rows: the restore stops reading
    // while most of the backup is still to come.
    `CREATE TABLE first_t AS SELECT g AS id FROM generate_series(1, 10) g;
     CREATE TABLE second_t AS SELECT g AS id, md5(g::text) AS s FROM generate_series(1, 300000) g;`,
    source,
  );
  const good = join(dir.path, "good.enc");
  const key = join(dir.path, "pg.key");
  const backup = await runAgent(
    [
      "backup",
      "--target",
      `postgres://backupy@127.0.0.1:5432/${source}`,
      "--out",
      good,
      "--generate-key",
      key,
    ],
    { PGPASSWORD: TEST_PASSWORD },
  );
  assertEquals(backup.code, 0, backup.stderr);

  // The same dump with a statement the server refuses between the two tables,
  // sealed again with the same key and given a manifest bound to the new file.
  const plain = join(dir.path, "good.sql");
  const decrypted = await runDecrypt(["--in", good, "--key-file", key, "--out", plain]);
  assertEquals(decrypted.code, 0, decrypted.stderr);
  const text = await Deno.readTextFile(plain);
  const at = text.indexOf(`CREATE TABLE "public"."second_t"`);
  assert(at > 0, "the dump creates second_t");
  const broken = text.slice(0, at) + "SELECT public.no_such_function(42);\n\n" + text.slice(at);
  const dek = dekFromKeyFile(await Deno.readFile(key));
  const sealed = await encryptV1(compress(new TextEncoder().encode(broken), "zstd"), {
    dek: dek.reveal(),
  });
  const bad = join(dir.path, "bad.enc");
  await Deno.writeFile(bad, sealed);
  const cryptoKey = await importDek(dek);
  const manifest = await readManifest(`${good}.manifest`, cryptoKey);
  await writeManifest(`${bad}.manifest`, {
    ...manifest,
    backup_sha256: sha256Hex(sealed),
    backup_bytes: sealed.length,
  }, cryptoKey);

  const verified = await runAgent([
    "verify",
    "--in",
    bad,
    "--key-file",
    key,
    "--level",
    "restore",
    "--scratch",
    SCRATCH,
  ]);
  assertEquals(verified.code, 1, verified.stderr);
  assertStringIncludes(verified.stderr, "ok   manifest:");
  assertMatch(
    verified.stderr,
    /FAIL restore: the restore failed: .*restore failed at statement \d+ \("SELECT public\.no_such_function\(42\)/,
  );
  assertStringIncludes(verified.stderr, "does not exist");
  await noScratchLeft(before, "the scratch database was dropped");
});

Deno.test("verify --level restore: MariaDB into a scratch database, dropped afterwards; a scratch of another engine is refused", async () => {
  const source = `backupy_restore_src_${crypto.randomUUID().slice(0, 8)}`;
  await using dir = await tempDir("backupy-verify-restore-mariadb-");
  await mariadb(`CREATE DATABASE ${source}; USE ${source};
    CREATE TABLE items (id INT PRIMARY KEY, name VARCHAR(50), data BLOB, f DOUBLE);
    INSERT INTO items SELECT seq, CONCAT('it''s ', seq), UNHEX(MD5(seq)), seq / 3 FROM seq_1_to_5000;
    CREATE TABLE empty_one (id INT);`);
  try {
    const out = join(dir.path, "my.enc");
    const key = join(dir.path, "my.key");
    const backup = await runAgent(
      [
        "backup",
        "--target",
        `mariadb://backupy@127.0.0.1:3306/${source}`,
        "--out",
        out,
        "--generate-key",
        key,
      ],
      { MYSQL_PWD: "backupy-test-pw" },
    );
    assertEquals(backup.code, 0, backup.stderr);
    const verified = await runAgent([
      "verify",
      "--in",
      out,
      "--key-file",
      key,
      "--level",
      "restore",
      "--scratch",
      "mariadb://backupy:backupy-test-pw@127.0.0.1:3306/",
    ]);
    assertEquals(verified.code, 0, verified.stderr);
    assertStringIncludes(verified.stderr, "2 objects equal the manifest's");
    // Other tests' checks make and drop scratch databases of their own: only one that stays leaked.
    const mariadbLeft = await waitUntil(
      "the scratch database dropped",
      async () => (await mariadb("SHOW DATABASES LIKE 'backupy_verify_%'")) === "" || null,
      20_000,
    ).catch(() => false);
    assertEquals(mariadbLeft, true, "the scratch database was dropped");
    const wrong = await runAgent([
      "verify",
      "--in",
      out,
      "--key-file",
      key,
      "--level",
      "restore",
      "--scratch",
      SCRATCH,
    ]);
    assertEquals(wrong.code, 1);
    assertStringIncludes(wrong.stderr, "the scratch server must be a mysql:// URL");
  } finally {
    await mariadb(`DROP DATABASE IF EXISTS ${source}`);
  }
});
