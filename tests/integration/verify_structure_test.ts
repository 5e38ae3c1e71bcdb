/**
 * `verify --level structure` on real dumps of every format - made by the
 * engines' own tools (pg_dump, mariadb-dump) and by ours - and on
 * corrupted backups that still decrypt (re-encrypted with the same key):
 * each corruption fails the check that should catch it, naming the object,
 * and the other checks still run.
 */
import { serialize } from "bson";
import { join } from "node:path";
import { MongoEngine } from "../../agent/engines/mongodb/mongo_engine.ts";
import { PostgresEngine } from "../../agent/engines/postgres/postgres_engine.ts";
import { MysqlEngine } from "../../agent/engines/mysql/mysql_engine.ts";
import { Crc64Jones } from "../../agent/bytes/crc64.ts";
import { type VerifyReport, verifyStructure } from "../../agent/verify/verify_structure.ts";
import { verifyBackup } from "../../agent/commands/verify_command.ts";
import { writeManifest } from "../../agent/manifest/backup_manifest.ts";
import { Secret } from "../../decrypt/secret.ts";
import { makeSqliteDatabase, tempDir } from "../support/agent_fixtures.ts";
import { assert, assertEquals, assertMatch } from "../support/assert.ts";
import { MongoWireServer } from "../support/mongo_wire_server.ts";
import { aesKey, compress, encryptV1, sha256Hex } from "../support/v1_fixtures.ts";

const PG = { host: "127.0.0.1", port: 5432, user: "backupy", password: "backupy-test-pw" };
const pgEnv = { PGHOST: PG.host, PGUSER: PG.user, PGPASSWORD: PG.password, PGDATABASE: "postgres" };

async function run(argv: string[], env: Record<string, string> = {}): Promise<Uint8Array> {
  const out = await new Deno.Command(argv[0], {
    args: argv.slice(1),
    env,
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  if (!out.success) throw new Error(`${argv.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  return out.stdout;
}

async function collect(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** Encrypts `plain` as the agent would and verifies it; `sha` overrides the expected SHA-256. */
async function verifyPlain(
  plain: Uint8Array,
  options: { sha?: string | null; tamper?: (encrypted: Uint8Array) => void } = {},
): Promise<VerifyReport> {
  const encrypted = await encryptV1(compress(plain, "zstd"));
  options.tamper?.(encrypted);
  await using dir = await tempDir("backupy-verify-test-");
  const expected = options.sha === null
    ? "none given in this test"
    : { sha256: options.sha ?? sha256Hex(encrypted), source: "the test" };
  // With row digests, as the manifest level reads them.
  return await verifyStructure(
    ReadableStream.from([encrypted]),
    await aesKey(),
    expected,
    dir.path,
    undefined,
    true,
  );
}

function check(report: VerifyReport, name: string) {
  return report.checks.find((c) => c.name === name)!;
}

/** A fresh database with a table, a large object and a view. */
async function pgDatabase(): Promise<string> {
  const name = `backupy_vstruct_${crypto.randomUUID().slice(0, 8)}`;
  await run(["psql", "-Xqc", `CREATE DATABASE ${name}`], pgEnv);
  await run([
    "psql",
    "-Xq",
    "-v",
    "ON_ERROR_STOP=1",
    "-c",
    `CREATE TABLE items (id int PRIMARY KEY, name text);
     INSERT INTO items SELECT g, md5(g::text) FROM generate_series(1, 20000) g;
     CREATE TABLE notes (body text); INSERT INTO notes VALUES ('n');
     CREATE VIEW few AS SELECT * FROM items WHERE id < 10;
     SELECT lo_from_bytea(0, 'a large object');`,
  ], { ...pgEnv, PGDATABASE: name });
  return name;
}

Deno.test("structure: pg_dump custom archives (compressed and -Z0, with a large object) and their corruptions", async () => {
  const db = await pgDatabase();
  try {
    for (const level of ["-Z6", "-Z0"]) {
      const archive = await run(["pg_dump", "-Fc", level, db], pgEnv);
      const report = await verifyPlain(archive);
      assert(report.ok, JSON.stringify(report.checks));
      assertEquals(report.format, "pg_dump custom archive");
      const names = report.objects.map((o) => o.name);
      if (level === "-Z6") {
        // Compressed data: the entries and their data bytes stand in for rows.
        assert(names.some((n) => n.startsWith("TABLE DATA public.items")), names.join());
        assert(names.some((n) => n.startsWith("BLOBS")), names.join());
      } else {
        // Uncompressed data is COPY text: the same rows and digests our own dump gives.
        const engine = new PostgresEngine({
          ...PG,
          password: new Secret(PG.password),
          database: db,
        });
        const ours = await engine.dump(new AbortController().signal, { manifest: true });
        await ours.readable.pipeTo(new WritableStream());
        assertEquals(report.objects, (await ours.manifest!)!.objects);
        assertEquals(report.objects.map((o) => [o.name, o.rows]), [
          ['"public"."items"', 20000],
          ['"public"."notes"', 1],
        ]);
      }

      const cut = await verifyPlain(archive.slice(0, Math.floor(archive.length * 0.7)));
      assertEquals(check(cut, "frames").ok, true, "a cut dump still decrypts");
      assertEquals(check(cut, "dump").ok, false);
      assertMatch(
        check(cut, "dump").detail,
        /ends inside the data of TABLE DATA items|no data block/,
      );
    }
  } finally {
    await run(["psql", "-Xqc", `DROP DATABASE IF EXISTS ${db}`], pgEnv);
  }
});

Deno.test("structure: SQL dumps (ours for PostgreSQL, mariadb-dump for MariaDB) and a dump cut short", async () => {
  const db = await pgDatabase();
  try {
    const engine = new PostgresEngine({ ...PG, password: new Secret(PG.password), database: db });
    const dump = await engine.dump(new AbortController().signal);
    const sql = await collect(dump.readable);
    await dump.finished;
    const report = await verifyPlain(sql);
    assert(report.ok, JSON.stringify(report.checks));
    assertEquals(report.format, "PostgreSQL SQL dump");
    const cut = await verifyPlain(sql.slice(0, sql.length - 100));
    assertMatch(
      check(cut, "dump").detail,
      /does not end with "-- PostgreSQL database dump complete"/,
    );
  } finally {
    await run(["psql", "-Xqc", `DROP DATABASE IF EXISTS ${db}`], pgEnv);
  }
  const mysql = await run([
    "mariadb-dump",
    "-h",
    "127.0.0.1",
    "-u",
    "backupy",
    "--single-transaction",
    "mysql",
  ], {
    MYSQL_PWD: "backupy-test-pw",
  });
  const mysqlReport = await verifyPlain(mysql);
  assert(mysqlReport.ok, JSON.stringify(mysqlReport.checks));
  assertEquals(mysqlReport.format, "MySQL/MariaDB SQL dump");
  const mysqlCut = await verifyPlain(mysql.slice(0, mysql.length - 40));
  assertMatch(check(mysqlCut, "dump").detail, /does not end with "-- Dump completed"/);
});

Deno.test("structure: an RDB with a flipped byte and its CRC left alone fails the CRC", async () => {
  const body = new Uint8Array([
    ...new TextEncoder().encode("REDIS0011"),
    0xfa,
    3,
    0x61,
    0x62,
    0x63,
    1,
    0x31,
    0xff,
  ]);
  const crc = new Crc64Jones();
  crc.update(body);
  const rdb = new Uint8Array(body.length + 8);
  rdb.set(body);
  new DataView(rdb.buffer).setBigUint64(body.length, crc.value(), true);
  assert((await verifyPlain(rdb)).ok);
  const flipped = rdb.slice();
  flipped[12] ^= 0x20;
  const report = await verifyPlain(flipped);
  assertMatch(check(report, "dump").detail, /RDB checksum mismatch/);
});

Deno.test("structure: a mongodump archive with a document changed fails that namespace's CRC", async () => {
  await using wire = MongoWireServer.start({
    databases: {
      shop: [
        {
          name: "orders",
          documents: Array.from({ length: 300 }, (_, i) => serialize({ _id: i, n: `order ${i}` })),
        },
        { name: "empty", documents: [] },
      ],
    },
  });
  const engine = new MongoEngine({ hosts: [`127.0.0.1:${wire.port}`], database: "" });
  const dump = await engine.dump(new AbortController().signal, { manifest: true });
  const archive = await collect(dump.readable);
  await dump.finished;
  const report = await verifyPlain(archive);
  assert(report.ok, JSON.stringify(report.checks));
  assertEquals(report.objects.map(({ name, rows }) => ({ name, rows })), [
    { name: "shop.empty", rows: 0 },
    { name: "shop.orders", rows: 300 },
  ]);
  // The engine's manifest, made while dumping, says the same.
  assertEquals((await dump.manifest!)!.objects, report.objects);
  const changed = archive.slice();
  const at = new TextDecoder().decode(changed).indexOf("order 150");
  changed[at + 6] = 0x39; // "order 950": same length, other bytes
  const bad = await verifyPlain(changed);
  assertMatch(
    check(bad, "dump").detail,
    /namespace shop\.orders: CRC [0-9a-f]+ stored, [0-9a-f]+ computed over 300 documents/,
  );
  const cut = await verifyPlain(archive.slice(0, archive.length - 30));
  assertEquals(check(cut, "dump").ok, false);
});

Deno.test("structure: SQLite whole and cut short; a wrong SHA-256 and a broken frame are reported with the rest", async () => {
  await using dir = await tempDir("backupy-verify-sqlite-");
  const path = join(dir.path, "app.db");
  makeSqliteDatabase(path, 3000);
  const file = await Deno.readFile(path);
  const report = await verifyPlain(file);
  assert(report.ok, JSON.stringify(report.checks));
  assertEquals(report.objects.map(({ name, rows }) => ({ name, rows })), [{
    name: "items",
    rows: 3000,
  }]);
  const cut = await verifyPlain(file.slice(0, file.length - 4096));
  assertMatch(check(cut, "dump").detail, /its header says \d+: it was cut short/);

  const wrongSha = await verifyPlain(file, { sha: "0".repeat(64) });
  assertEquals(check(wrongSha, "sha256").ok, false);
  assertEquals(check(wrongSha, "dump").ok, true, "the dump is still checked");
  const noSha = await verifyPlain(file, { sha: null });
  assertMatch(check(noSha, "sha256").detail, /no SHA-256 to compare with/);
  assertEquals(noSha.ok, false);

  const broken = await verifyPlain(file, {
    sha: null,
    tamper: (encrypted) => void (encrypted[100] ^= 1),
  });
  assertEquals(check(broken, "frames").ok, false);
  assertMatch(check(broken, "frames").detail, /AES-GCM authentication failed/);
  assertEquals(check(broken, "dump").ok, false);
});

Deno.test("manifest: our PostgreSQL dump's COPY rows against its manifest; a removed row is named", async () => {
  const db = await pgDatabase();
  await using dir = await tempDir("backupy-verify-pg-manifest-");
  try {
    const engine = new PostgresEngine({ ...PG, password: new Secret(PG.password), database: db });
    const dump = await engine.dump(new AbortController().signal, { manifest: true });
    const sql = await collect(dump.readable);
    await dump.finished;
    const { objects, snapshot } = (await dump.manifest)!;
    assertEquals(objects.map((o) => [o.name, o.rows]), [['"public"."items"', 20000], [
      '"public"."notes"',
      1,
    ]]);
    // Where the snapshot stood: a WAL position no later than the server's now, and its xmin:xmax.
    assertMatch(snapshot!.lsn, /^[0-9A-F]+\/[0-9A-F]+$/);
    assertMatch(snapshot!.snapshot, /^\d+:\d+:/);
    const behind = await run(
      ["psql", "-XtAc", `SELECT '${snapshot!.lsn}'::pg_lsn <= pg_current_wal_lsn()`],
      pgEnv,
    );
    assertEquals(new TextDecoder().decode(behind).trim(), "t");

    const key = join(dir.path, "key");
    const dek = crypto.getRandomValues(new Uint8Array(32));
    await Deno.writeTextFile(key, dek.toHex());
    const write = async (name: string, plain: Uint8Array) => {
      const encrypted = await encryptV1(compress(plain, "zstd"), { dek });
      await Deno.writeFile(join(dir.path, name), encrypted);
      return sha256Hex(encrypted);
    };
    const sha = await write("good.enc", sql);
    await writeManifest(join(dir.path, "good.enc.manifest"), {
      manifest_version: 1,
      engine: "postgresql",
      engine_version: await engine.version(),
      created_at: new Date().toISOString(),
      backup_sha256: sha,
      backup_bytes: 0,
      dump_bytes: sql.length,
      objects,
    }, await aesKey(dek));
    const good = await verifyBackup({
      input: join(dir.path, "good.enc"),
      level: "manifest",
      keyFile: key,
      allowExpired: false,
    });
    assert(good.ok, JSON.stringify(good.checks));

    // One row of items taken out of the dump, the file re-encrypted with the same key.
    const text = new TextDecoder().decode(sql);
    const row = text.indexOf("\n4242\t") + 1;
    const removed = text.slice(0, row) + text.slice(text.indexOf("\n", row) + 1);
    await write("removed.enc", new TextEncoder().encode(removed));
    const bad = await verifyBackup({
      input: join(dir.path, "removed.enc"),
      level: "manifest",
      manifest: join(dir.path, "good.enc.manifest"),
      keyFile: key,
      allowExpired: false,
    });
    assertEquals(bad.ok, false);
    const detail = bad.checks.find((c) => c.name === "manifest")!.detail;
    assertMatch(detail, /"public"\."items": 20000 rows in the manifest, 19999 in the dump/);
    assertMatch(detail, /the manifest belongs to the backup with SHA-256/);
    assertEquals(
      bad.checks.find((c) => c.name === "dump")!.ok,
      true,
      "the dump itself is still well formed",
    );
  } finally {
    await run(["psql", "-Xqc", `DROP DATABASE IF EXISTS ${db}`], pgEnv);
  }
});

Deno.test("manifest: our MariaDB dump's INSERT rows (also an empty table's) against its manifest; a changed row is named", async () => {
  const db = `backupy_vstruct_${crypto.randomUUID().slice(0, 8)}`;
  const client = ["mariadb", "--protocol=tcp", "-h", "127.0.0.1", "-u", "backupy"];
  const env = { MYSQL_PWD: "backupy-test-pw" };
  await run([
    ...client,
    "-e",
    `CREATE DATABASE ${db}; USE ${db};
     CREATE TABLE items (id INT PRIMARY KEY, name VARCHAR(50), data BLOB);
     INSERT INTO items SELECT seq, CONCAT('it''s (', seq, ')'), UNHEX(MD5(seq)) FROM seq_1_to_3000;
     CREATE TABLE empty_one (id INT);`,
  ], env);
  try {
    const engine = new MysqlEngine({
      host: "127.0.0.1",
      port: 3306,
      user: "backupy",
      password: new Secret("backupy-test-pw"),
      database: db,
    }, "mariadb");
    const dump = await engine.dump(new AbortController().signal, { manifest: true });
    const sql = await collect(dump.readable);
    await dump.finished;
    const { objects, snapshot } = (await dump.manifest)!;
    assertEquals(objects.map((o) => [o.name, o.rows]), [["`empty_one`", 0], ["`items`", 3000]]);
    // The binary log position of the consistent snapshot (the test server writes a binary log).
    assertMatch(snapshot!.binlog_file, /^backupy-bin\.\d+$/);
    assert(Number(snapshot!.binlog_position) > 0, JSON.stringify(snapshot));
    const report = await verifyPlain(sql);
    assert(report.ok, JSON.stringify(report.checks));
    assertEquals(
      report.objects,
      objects,
      "the dump, re-read, gives the manifest's counts and digests",
    );

    // One value changed inside one row: same count, another digest.
    const text = new TextDecoder().decode(sql).replace("'it\\'s (1234)'", "'it\\'s (9999)'");
    const changed = await verifyPlain(new TextEncoder().encode(text));
    const items = changed.objects.find((o) => o.name === "`items`")!;
    assertEquals(items.rows, 3000);
    assert(items.digest !== objects.find((o) => o.name === "`items`")!.digest);
  } finally {
    await run([...client, "-e", `DROP DATABASE IF EXISTS ${db}`], env);
  }
});
