/**
 * The native MongoDB engine against the wire-compatible test server
 * (tests/support/mongo_wire_server.ts), or against a real MongoDB when
 * BACKUPY_TEST_MONGO_URL is set (the fixture is then inserted there). The
 * archive is checked by a reader written from the format's facts, not from
 * our writer: magic, prelude metadata, framing, CRCs, and every document
 * byte for byte.
 */
import {
  Binary,
  BSONRegExp,
  Code,
  Decimal128,
  deserialize,
  Double,
  Int32,
  Long,
  MaxKey,
  MinKey,
  ObjectId,
  serialize,
  Timestamp,
} from "bson";
import { MongoClient } from "mongodb";
import { join } from "node:path";
import { MongoEngine } from "../../agent/engines/mongodb/mongo_engine.ts";
import { HeaderCheckStream } from "../../agent/engines/shared/header_check_stream.ts";
import { DumpError } from "../../agent/engines/shared/engine.ts";
import { Secret } from "../../decrypt/secret.ts";
import { tempDir } from "../support/agent_fixtures.ts";
import { assert, assertEquals, assertMatch, assertRejects } from "../support/assert.ts";
import { readArchive } from "../support/mongo_archive_reader.ts";
import { MongoWireServer, type WireCollection } from "../support/mongo_wire_server.ts";
import { runAgent, runDecrypt } from "../support/programs.ts";

const REAL_URL = Deno.env.get("BACKUPY_TEST_MONGO_URL");
const PASSWORD = `mongo-${crypto.randomUUID()}`;

/** Every BSON type a document can hold, in one document per `i`. */
function richDocument(i: number): Record<string, unknown> {
  return {
    _id: new ObjectId(i.toString(16).padStart(24, "0")),
    i: new Int32(i),
    long: Long.fromBigInt(BigInt(i) * 10_000_000_000n),
    double: new Double(i / 3),
    decimal: Decimal128.fromString(`${i}.0000000000000000000000000001`),
    text: `naïve café ${i} ✓ ${"x".repeat(i % 200)}`,
    when: new Date(Date.UTC(2024, 0, 1) + i * 1000),
    bytes: new Binary(new Uint8Array([i & 255, 0, 255, 7])),
    uuid: new Binary(new Uint8Array(16).fill(i & 255), 4),
    md5: new Binary(new Uint8Array(16).fill(7), 5),
    custom: new Binary(new Uint8Array([1, 2, 3]), 128),
    regex: new BSONRegExp(`^item${i}$`, "i"),
    nested: { a: [1, [2, { b: [3, null] }], { c: true }], empty: {}, list: [] },
    ts: new Timestamp({ t: 1700000000 + i, i: 1 }),
    code: new Code("function () { return 1; }"),
    min: new MinKey(),
    max: new MaxKey(),
    nothing: null,
    flag: i % 2 === 0,
  };
}

const uuid = (n: number) => new Uint8Array(16).fill(n);

async function hasMongorestore(): Promise<boolean> {
  try {
    return (await new Deno.Command("mongorestore", { args: ["--version"], stdout: "null" })
      .output())
      .success;
  } catch {
    return false;
  }
}

/** The fixture: several databases, a view, indexes with options, a near-16 MiB document. */
function fixture(): Record<string, WireCollection[]> {
  const raw = (docs: Record<string, unknown>[]) => docs.map((d) => serialize(d));
  return {
    shop: [
      {
        name: "orders",
        uuid: uuid(1),
        documents: raw(Array.from({ length: 2500 }, (_, i) => richDocument(i))),
        indexes: [
          { v: 2, key: { _id: 1 }, name: "_id_" },
          { v: 2, key: { when: -1, i: 1 }, name: "when_-1_i_1" },
        ],
      },
      {
        name: "customers",
        uuid: uuid(2),
        options: { validator: { email: { $type: "string" } } },
        documents: raw(
          Array.from(
            { length: 50 },
            (_, i) => ({ _id: i, email: `c${i}@example.com`, at: new Date(0) }),
          ),
        ),
        indexes: [
          { v: 2, key: { _id: 1 }, name: "_id_" },
          { v: 2, key: { email: 1 }, name: "email_1", unique: true },
          { v: 2, key: { at: 1 }, name: "at_1", expireAfterSeconds: 3600 },
          {
            v: 2,
            key: { i: 1 },
            name: "i_1",
            partialFilterExpression: { i: { $gt: 10 } },
          },
          {
            v: 2,
            key: { _fts: "text", _ftsx: 1 },
            name: "email_text",
            weights: { email: 1 },
            default_language: "english",
            language_override: "language",
            textIndexVersion: 3,
          },
        ],
      },
      {
        name: "blobs",
        uuid: uuid(3),
        documents: raw([{
          _id: "big",
          data: new Binary(new Uint8Array(15 * 1024 * 1024).fill(9)),
        }]),
      },
      { name: "empty", uuid: uuid(4), documents: [] },
      {
        name: "temps",
        type: "timeseries",
        uuid: uuid(8),
        options: { timeseries: { timeField: "t", metaField: "m", granularity: "seconds" } },
        indexes: [],
      },
      {
        name: "system.buckets.temps",
        uuid: uuid(9),
        documents: raw(
          Array.from({ length: 3 }, (_, i) => ({
            _id: new ObjectId(),
            control: { version: 1, min: { t: new Date(i) }, max: { t: new Date(i + 1) } },
            meta: `sensor-${i}`,
            data: { t: { 0: new Date(i) }, v: { 0: i } },
          })),
        ),
      },
      {
        name: "system.js",
        uuid: uuid(5),
        documents: raw([{ _id: "helper", value: new Code("1") }]),
      },
      { name: "system.profile", uuid: uuid(6), documents: raw([{ op: "query" }]) },
      {
        name: "cheap_orders",
        type: "view",
        options: { viewOn: "orders", pipeline: [{ $match: { i: { $lt: 10 } } }] },
      },
    ],
    analytics: [
      {
        name: "events",
        uuid: uuid(7),
        documents: raw(Array.from({ length: 300 }, (_, i) => ({ _id: i }))),
      },
    ],
    admin: [{ name: "system.version", documents: raw([{ _id: "x" }]) }],
    local: [{ name: "startup_log", documents: raw([{ _id: "y" }]) }],
    config: [{ name: "system.sessions", documents: raw([{ _id: "z" }]) }],
  };
}

/** The server under test: the wire server, or a real MongoDB loaded with the fixture. */
async function source(): Promise<{
  hosts: string[];
  username: string;
  password: string;
  url: string;
  wire?: MongoWireServer;
  expected: Record<string, WireCollection[]>;
  [Symbol.asyncDispose](): Promise<void>;
}> {
  const expected = fixture();
  if (REAL_URL) {
    const client = new MongoClient(REAL_URL);
    await client.connect();
    for (const db of ["shop", "analytics"]) {
      await client.db(db).dropDatabase();
      for (const c of expected[db]) {
        if (c.name.startsWith("system.")) continue;
        if (c.type === "view" || c.type === "timeseries") {
          await client.db(db).createCollection(c.name, c.options as never);
          continue;
        }
        await client.db(db).createCollection(c.name);
        if (c.documents?.length) {
          await client.db(db).collection(c.name).insertMany(c.documents.map((d) => deserialize(d)));
        }
      }
    }
    await client.close();
    const parsed = new URL(REAL_URL);
    return {
      hosts: [parsed.host],
      username: decodeURIComponent(parsed.username),
      password: decodeURIComponent(parsed.password),
      url: REAL_URL,
      expected,
      [Symbol.asyncDispose]: () => Promise.resolve(),
    };
  }
  const wire = MongoWireServer.start({
    databases: expected,
    user: { name: "root", password: PASSWORD },
    getMoreBatch: 400,
  });
  return {
    hosts: [`127.0.0.1:${wire.port}`],
    username: "root",
    password: PASSWORD,
    url: `mongodb://root:${encodeURIComponent(PASSWORD)}@127.0.0.1:${wire.port}/`,
    wire,
    expected,
    [Symbol.asyncDispose]: () => wire[Symbol.asyncDispose](),
  };
}

function engineFor(s: { hosts: string[]; username: string }, password: string, database = "") {
  return new MongoEngine({
    hosts: s.hosts,
    username: s.username,
    password: new Secret(password),
    database,
  });
}

async function dumpAll(engine: MongoEngine, warnings: string[] = []): Promise<Uint8Array> {
  const dump = await engine.dump(new AbortController().signal, { warn: (m) => warnings.push(m) });
  const bytes = new Uint8Array(
    await new Response(dump.readable.pipeThrough(new HeaderCheckStream(engine.format)))
      .arrayBuffer(),
  );
  await dump.finished;
  return bytes;
}

Deno.test("MongoDB: a whole-server archive that a format-only reader accepts, documents byte for byte", async () => {
  await using s = await source();
  const engine = engineFor(s, s.password);
  assertMatch(await engine.version(), /^MongoDB \d+\.\d+\.\d+/);
  assert(((await engine.estimateSize()) ?? 0) > 15 * 1024 * 1024);
  const warnings: string[] = [];
  const archive = readArchive(await dumpAll(engine, warnings));
  assertMatch(warnings.join("\n"), /not a point in time|one snapshot/);

  assertEquals(archive.header.version, "0.1");
  assertMatch(String(archive.header.server_version), /^\d+\.\d+\.\d+$/);
  const listed = archive.prelude.map((p) => `${p.db}.${p.collection}:${p.type}`).sort();
  // admin is kept whole, as mongodump keeps it (users, roles and the version document).
  assert(listed.includes("admin.system.version:collection"), listed.join());
  assertEquals(listed.filter((name) => !name.startsWith("admin.")), [
    "analytics.events:collection",
    "shop.blobs:collection",
    "shop.cheap_orders:view",
    "shop.customers:collection",
    "shop.empty:collection",
    "shop.orders:collection",
    ...(REAL_URL ? [] : ["shop.system.js:collection"]),
    "shop.temps:timeseries",
  ]);
  // A time-series collection's data travels under its buckets namespace.
  if (!REAL_URL) assertEquals(archive.documents.get("shop.system.buckets.temps")?.length, 3);
  assert(!archive.documents.has("shop.temps"));
  for (const db of ["shop", "analytics"]) {
    for (const c of s.expected[db]) {
      if (c.name.startsWith("system.") && c.name !== "system.js") continue;
      if (REAL_URL && c.name === "system.js") continue;
      if (c.type === "timeseries") continue;
      const entry = archive.prelude.find((p) => p.db === db && p.collection === c.name)!;
      assertEquals(entry.metadata.collectionName, c.name);
      if (c.type === "view") {
        assertEquals((entry.metadata.options as Record<string, unknown>).viewOn, "orders");
        assertEquals(entry.metadata.indexes, []);
        assertEquals(archive.documents.get(`${db}.${c.name}`), []);
        continue;
      }
      if (!REAL_URL) {
        assertEquals(entry.metadata.uuid, c.uuid!.toHex());
        assertEquals(
          JSON.stringify(entry.metadata.indexes),
          JSON.stringify(c.indexes ?? [{ v: 2, key: { _id: 1 }, name: "_id_" }]),
        );
        const got = archive.documents.get(`${db}.${c.name}`) ?? [];
        assertEquals(got.length, c.documents!.length, `${db}.${c.name} count`);
        got.forEach((doc, i) =>
          assert(doc.every((b, j) => b === c.documents![i][j]), `${db}.${c.name}[${i}]`)
        );
      } else {
        assertEquals(archive.documents.get(`${db}.${c.name}`)?.length, c.documents?.length ?? 0);
      }
    }
  }
  assertEquals(
    (s.expected.shop.find((c) => c.name === "customers")!.options as Record<string, unknown>)
      .validator !== undefined,
    true,
  );
  if (!REAL_URL) {
    const customers = archive.prelude.find((p) => p.collection === "customers")!;
    assert((customers.metadata.options as Record<string, unknown>).validator, "options kept");
    // Several getMore batches were needed for 2500 documents at 400 per batch.
    assert(s.wire!.commands.filter((c) => c === "getMore").length >= 6);
  }
  if (REAL_URL && await hasMongorestore()) {
    // The engine's own tool restores it, under other names, with the same counts.
    await using dir = await tempDir("backupy-mongorestore-");
    const file = join(dir.path, "all.archive");
    await Deno.writeFile(file, await dumpAll(engineFor(s, s.password, "shop")));
    const restore = await new Deno.Command("mongorestore", {
      args: [
        `--uri=${REAL_URL}`,
        `--archive=${file}`,
        "--nsFrom=shop.*",
        "--nsTo=restored_shop.*",
        "--drop",
      ],
      stdout: "null",
      stderr: "piped",
    }).output();
    assert(restore.success, new TextDecoder().decode(restore.stderr));
    const client = new MongoClient(REAL_URL);
    try {
      for (const c of s.expected.shop) {
        if (c.type || c.name.startsWith("system.")) continue;
        assertEquals(
          await client.db("restored_shop").collection(c.name).countDocuments(),
          c.documents?.length ?? 0,
        );
      }
      await client.db("restored_shop").dropDatabase();
    } finally {
      await client.close();
    }
  }
  // local and config's session collections are left out, and system.profile everywhere.
  assert(archive.prelude.every((p) => !["local", "config"].includes(p.db)));
  assert(archive.prelude.every((p) => p.collection !== "system.profile"));
  // Asked to, a whole-server dump leaves admin and config out.
  const withoutSystem = new MongoEngine({
    hosts: s.hosts,
    username: s.username,
    password: new Secret(s.password),
    database: "",
    systemDatabases: false,
  });
  const userDataOnly = readArchive(await dumpAll(withoutSystem));
  assert(userDataOnly.prelude.every((p) => !["admin", "local", "config"].includes(p.db)));
  assertEquals(
    userDataOnly.prelude.length,
    archive.prelude.filter((p) => p.db !== "admin").length,
  );
});

Deno.test("MongoDB: a whole-server dump keeps config's sharding collections (settings) and nothing else of config", async () => {
  if (REAL_URL) return; // the config database is set up on the test server
  const raw = (docs: Record<string, unknown>[]) => docs.map((d) => serialize(d));
  await using wire = MongoWireServer.start({
    databases: {
      config: [
        { name: "settings", documents: raw([{ _id: "balancer", stopped: true }]) },
        { name: "system.sessions", documents: raw([{ _id: "s" }]) },
        { name: "transactions", documents: raw([{ _id: "t" }]) },
        { name: "image_collection", documents: raw([{ _id: "i" }]) },
      ],
      admin: [
        {
          name: "system.users",
          documents: raw([{ _id: "admin.root", user: "root", db: "admin" }]),
        },
        { name: "system.keys", documents: raw([{ _id: 1 }]) },
        { name: "app_settings", documents: raw([{ _id: "theme" }]) },
      ],
      "__mdb_internal_x": [{ name: "c", documents: raw([{ _id: 1 }]) }],
    },
  });
  const engine = new MongoEngine({ hosts: [`127.0.0.1:${wire.port}`], database: "" });
  const archive = readArchive(await dumpAll(engine));
  assertEquals(archive.prelude.map((p) => `${p.db}.${p.collection}`).sort(), [
    "admin.app_settings",
    "admin.system.users",
    "config.settings",
  ]);
  // Named on its own, config is dumped whole, as mongodump --db=config does.
  const config = readArchive(
    await dumpAll(new MongoEngine({ hosts: [`127.0.0.1:${wire.port}`], database: "config" })),
  );
  assertEquals(config.prelude.map((p) => p.collection).sort(), [
    "image_collection",
    "settings",
    "transactions",
  ]);
});

Deno.test("MongoDB on a replica set: every collection read at one snapshot point in time", async () => {
  if (REAL_URL) return; // the wire server records what each find asked for
  await using wire = MongoWireServer.start({
    databases: fixture(),
    user: { name: "root", password: PASSWORD },
    replicaSet: "rs0",
  });
  const warnings: string[] = [];
  const engine = engineFor({ hosts: [`127.0.0.1:${wire.port}`], username: "root" }, PASSWORD);
  readArchive(await dumpAll(engine, warnings));
  assertMatch(warnings.join("\n"), /one snapshot \(a single point in time\)/);
  const concerns = wire.findReadConcerns as { level?: string; atClusterTime?: { t: number } }[];
  assert(concerns.length >= 6, `finds: ${concerns.length}`);
  assert(concerns.every((c) => c?.level === "snapshot"), JSON.stringify(concerns));
  // The first find fixes the point in time; every later one asks for exactly it.
  assert(concerns.slice(1).every((c) => c.atClusterTime?.t === wire.clusterTime.t));

  const off = new MongoEngine({
    hosts: [`127.0.0.1:${wire.port}`],
    username: "root",
    password: new Secret(PASSWORD),
    database: "analytics",
    snapshot: false,
  });
  const before = wire.findReadConcerns.length;
  readArchive(await dumpAll(off));
  assert(wire.findReadConcerns.slice(before).every((c) => c === undefined), "snapshot=false");
});

Deno.test("MongoDB over TLS with a private CA, and authSource: the wrong CA or database fails", async () => {
  if (REAL_URL) return;
  const tlsDir = Deno.env.get("BACKUPY_TEST_TLS_DIR") ?? "/var/lib/backupy-test-tls";
  await using wire = MongoWireServer.start({
    databases: { app: [{ name: "things", documents: [serialize({ _id: 1 })] }] },
    user: { name: "root", password: PASSWORD },
    tls: {
      cert: await Deno.readTextFile(join(tlsDir, "server.pem")),
      key: await Deno.readTextFile(join(tlsDir, "server-key.pem")),
    },
    authDatabase: "app",
  });
  const engine = (options: Record<string, string>) =>
    new MongoEngine({
      hosts: [`localhost:${wire.port}`],
      username: "root",
      password: new Secret(PASSWORD),
      database: "",
      options,
    });
  const good = { tls: "true", tlsCAFile: join(tlsDir, "ca.pem"), authSource: "app" };
  const archive = readArchive(await dumpAll(engine(good)));
  assertEquals(archive.documents.get("app.things")?.length, 1);
  const wrongCa = await assertRejects(
    () =>
      engine({ ...good, tlsCAFile: join(tlsDir, "other-ca.pem"), serverSelectionTimeoutMS: "1500" })
        .version(),
    DumpError,
  );
  assertMatch(wrongCa.message, /certificate|self.signed|verify|SSL|TLS/i);
  const wrongDb = await assertRejects(() => engine({ ...good, authSource: "admin" }).version());
  assertMatch(wrongDb.message, /authentication failed/);
});

Deno.test("MongoDB: one database when the target names it", async () => {
  await using s = await source();
  const archive = readArchive(await dumpAll(engineFor(s, s.password, "analytics")));
  assertEquals(archive.prelude.map((p) => `${p.db}.${p.collection}`), ["analytics.events"]);
  assertEquals(archive.documents.get("analytics.events")?.length, 300);
});

Deno.test("MongoDB: numbers in collection metadata keep their BSON types, as mongodump writes them", async () => {
  if (REAL_URL) return; // the exact option types are set up on the test server
  await using wire = MongoWireServer.start({
    databases: {
      shop: [{
        name: "capped_log",
        options: { capped: true, size: Long.fromNumber(1048576), max: Long.fromNumber(5000) },
        indexes: [
          { v: new Int32(2), key: { _id: new Int32(1) }, name: "_id_" },
          {
            v: new Int32(2),
            key: { a: new Double(1) },
            name: "a_1",
            expireAfterSeconds: new Double(3600),
          },
        ],
        documents: [serialize({ _id: 1 })],
      }],
    },
  });
  const engine = new MongoEngine({ hosts: [`127.0.0.1:${wire.port}`], database: "shop" });
  const [entry] = readArchive(await dumpAll(engine)).prelude;
  const metadata = entry.metadata as {
    options: { size: unknown; max: unknown };
    indexes: { v: unknown; key: Record<string, unknown>; expireAfterSeconds?: unknown }[];
  };
  assert(metadata.options.size instanceof Long, `size: ${metadata.options.size}`);
  assert(metadata.options.max instanceof Long, "max stays Int64");
  assert(metadata.indexes[1].key.a instanceof Double, "an index key of 1.0 stays a double");
  assert(
    metadata.indexes[1].expireAfterSeconds instanceof Double,
    "expireAfterSeconds stays a double",
  );
  assert(metadata.indexes[0].v instanceof Int32, "Int32 stays Int32");
});

Deno.test("MongoDB failures: wrong password, cursor killed, connection dropped - clear, no password", async (t) => {
  if (REAL_URL) return; // failure injection needs the test server
  await using s = await source();
  await t.step("wrong password", async () => {
    const wrong = `wrong-${crypto.randomUUID()}`;
    const engine = engineFor(s, wrong);
    const error = await assertRejects(() => engine.version(), DumpError);
    assertMatch(error.message, /authentication failed/);
    assert(!error.message.includes(wrong));
    await assertRejects(() => engine.dump(new AbortController().signal), DumpError);
  });
  for (
    const [what, inject, pattern] of [
      ["a cursor killed mid-dump", () => (s.wire!.killOnGetMore = true), /CursorNotFound/],
      [
        "the connection dropped mid-dump",
        () => (s.wire!.dropOnGetMore = true),
        /MongoDB dump failed/,
      ],
    ] as const
  ) {
    await t.step(what, async () => {
      const dump = await engineFor(s, s.password).dump(new AbortController().signal);
      const reader = dump.readable.getReader();
      await reader.read(); // the prelude and the first batch are out
      inject();
      const drained = (async () => {
        for (;;) if ((await reader.read()).done) return;
      })().catch((e) => e);
      const failure = await assertRejects(() => dump.finished, DumpError);
      assertMatch(failure.message, pattern);
      assert(!failure.message.includes(PASSWORD));
      assert((await drained) instanceof Error, "the stream errors, so no archive is finished");
    });
  }
});

Deno.test("local mode: backup --target mongodb://... decrypts to an archive; a failed one leaves nothing", async () => {
  await using s = await source();
  await using dir = await tempDir("backupy-mongo-local-");
  const out = join(dir.path, "mongo.enc");
  const key = join(dir.path, "mongo.key");
  const result = await runAgent(["backup", "--target", s.url, "--out", out, "--generate-key", key]);
  assertEquals(result.code, 0, result.stderr);
  assertMatch(result.stderr, /OK: backed up MongoDB \d+\.\d+\.\d+/);
  assert(!result.stderr.includes(s.password));
  const sha = /sha256: +([0-9a-f]{64})/.exec(result.stderr)![1];
  const plain = join(dir.path, "mongo.archive");
  const decrypt = await runDecrypt([
    "--key-file",
    key,
    "--sha256",
    sha,
    "--in",
    out,
    "--out",
    plain,
  ]);
  assertEquals(decrypt.code, 0, decrypt.stderr);
  const archive = readArchive(await Deno.readFile(plain));
  assertEquals(archive.documents.get("shop.orders")?.length, 2500);
  // Its manifest (written beside it) agrees with the archive, document for document.
  const verified = await runAgent([
    "verify",
    "--in",
    out,
    "--key-file",
    key,
    "--level",
    "manifest",
  ]);
  assertEquals(verified.code, 0, verified.stderr);
  assertMatch(verified.stderr, /shop\.orders: 2500/);

  const bad = s.url.replace(encodeURIComponent(s.password), "not-it");
  const failed = await runAgent([
    "backup",
    "--target",
    bad,
    "--out",
    join(dir.path, "bad.enc"),
    "--generate-key",
    join(dir.path, "bad.key"),
  ]);
  assertEquals(failed.code, 1);
  assertMatch(failed.stderr, /authentication failed/);
  assert(!(await Deno.stat(join(dir.path, "bad.enc")).catch(() => null)));
});
