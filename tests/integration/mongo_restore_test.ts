/**
 * The native MongoDB restore (engines/mongodb/mongo_restore.ts) against the
 * wire-compatible test server: an archive dumped from one server replayed
 * into another, compared byte for byte; archives laid out as mongodump lays
 * them out (namespaces interleaved); and every refusal - existing
 * collections, a rename that matches nothing, a damaged archive, documents
 * the server refuses, users in a scratch restore - before or instead of a
 * partial success.
 */
import {
  Binary,
  Code,
  Decimal128,
  deserialize,
  Double,
  EJSON,
  Int32,
  Long,
  ObjectId,
  serialize,
} from "bson";
import { MongoEngine } from "../../agent/engines/mongodb/mongo_engine.ts";
import {
  encodeBlockHeader,
  encodeNamespaceEnd,
  encodePrelude,
  type PreludeEntry,
} from "../../agent/engines/mongodb/mongo_archive.ts";
import { Crc64Xz } from "../../agent/bytes/crc64.ts";
import { concatBytes } from "../../decrypt/concat_bytes.ts";
import { join } from "node:path";
import { tempDir } from "../support/agent_fixtures.ts";
import { assert, assertEquals, assertMatch, assertRejects } from "../support/assert.ts";
import { runAgent } from "../support/programs.ts";
import { MongoWireServer, type WireCollection } from "../support/mongo_wire_server.ts";

const raw = (docs: Record<string, unknown>[]) => docs.map((d) => serialize(d));

/** A document with the deprecated `undefined` type (0x06), which a decode and re-encode turns into null. */
function withUndefined(id: number): Uint8Array {
  const body = concatBytes([
    new Uint8Array([0x10, ...new TextEncoder().encode("_id"), 0, id, 0, 0, 0]),
    new Uint8Array([0x06, ...new TextEncoder().encode("gone"), 0]),
  ]);
  const doc = new Uint8Array(4 + body.length + 1);
  new DataView(doc.buffer).setInt32(0, doc.length, true);
  doc.set(body, 4);
  return doc;
}

/** The source server's databases: every kind of collection a restore must make. */
function sourceDatabases(): Record<string, WireCollection[]> {
  return {
    shop: [
      {
        name: "orders",
        documents: [
          ...raw(Array.from({ length: 2600 }, (_, i) => ({
            _id: new ObjectId(i.toString(16).padStart(24, "0")),
            n: new Int32(i),
            big: Long.fromNumber(i),
            price: new Double(i),
            exact: Decimal128.fromString(`${i}.10`),
            tags: ["a", { b: i }],
            blob: new Binary(new Uint8Array([i & 255, 1]), 0x80),
          }))),
          withUndefined(1),
        ],
        indexes: [
          { v: 2, key: { _id: 1 }, name: "_id_" },
          { v: 2, key: { n: new Double(1) }, name: "n_1", unique: true },
          { v: 2, key: { at: 1 }, name: "at_1", expireAfterSeconds: Long.fromNumber(3600) },
        ],
      },
      {
        name: "customers",
        options: { validator: { email: { $type: "string" } }, validationLevel: "moderate" },
        // Written before the validator: a restore must not refuse it.
        documents: raw([{ _id: 1, email: 42 }, { _id: 2, email: "b@example.com" }]),
      },
      {
        name: "log",
        options: { capped: true, size: Long.fromNumber(1048576), max: new Int32(500) },
        documents: raw([{ _id: 1, line: "started" }]),
      },
      {
        name: "cheap_orders",
        type: "view",
        options: { viewOn: "orders", pipeline: [{ $match: { n: { $lt: 10 } } }] },
      },
      {
        name: "temps",
        type: "timeseries",
        options: { timeseries: { timeField: "t", metaField: "m", granularity: "seconds" } },
        indexes: [],
      },
      {
        name: "system.buckets.temps",
        documents: raw([{ _id: new ObjectId(), control: { version: 1 }, meta: "s1", data: {} }]),
      },
      { name: "system.js", documents: raw([{ _id: "helper", value: new Code("1") }]) },
      { name: "empty", documents: [] },
    ],
    admin: [
      {
        name: "system.users",
        documents: raw([
          { _id: "admin.root", user: "root", db: "admin", roles: [{ role: "root", db: "admin" }] },
          { _id: "shop.app", user: "app", db: "shop", roles: [{ role: "readWrite", db: "shop" }] },
        ]),
      },
      {
        name: "system.roles",
        documents: raw([{ _id: "shop.reader", role: "reader", db: "shop", privileges: [] }]),
      },
      { name: "system.version", documents: raw([{ _id: "authSchema", currentVersion: 5 }]) },
    ],
  };
}

function engine(server: MongoWireServer, database = "", databasePrefix?: string): MongoEngine {
  return new MongoEngine({ hosts: [`127.0.0.1:${server.port}`], database, databasePrefix });
}

async function dumpOf(server: MongoWireServer, database = ""): Promise<Uint8Array> {
  const dump = await engine(server, database).dump(new AbortController().signal);
  const bytes = new Uint8Array(await new Response(dump.readable).arrayBuffer());
  await dump.finished;
  return bytes;
}

/** `bytes` as a stream of `size`-byte chunks, as a decrypting pipe hands them over. */
function streamOf(bytes: Uint8Array, size = 100_000): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream({
    pull(controller) {
      if (at >= bytes.length) return controller.close();
      controller.enqueue(bytes.slice(at, at += size));
    },
  });
}

const signal = () => new AbortController().signal;

function collection(
  databases: Record<string, WireCollection[]>,
  db: string,
  name: string,
): WireCollection | undefined {
  return databases[db]?.find((c) => c.name === name);
}

const sameBytes = (a: Uint8Array[] = [], b: Uint8Array[] = []) =>
  a.length === b.length &&
  a.every((d, i) => d.length === b[i].length && d.every((x, j) => x === b[i][j]));

const canonical = (value: unknown) => EJSON.stringify(value as never, { relaxed: false });

Deno.test("MongoDB restore: every collection, view, time-series, index, user and role, documents byte for byte", async () => {
  const source = sourceDatabases();
  await using from = MongoWireServer.start({ databases: source });
  const targetDatabases: Record<string, WireCollection[]> = {
    admin: [{
      name: "system.version",
      documents: raw([{ _id: "featureCompatibilityVersion", version: "7.0" }]),
    }],
  };
  await using to = MongoWireServer.start({ databases: targetDatabases });
  const archive = await dumpOf(from);
  const result = await engine(to).restore(streamOf(archive), signal());
  const documents = 2601 + 2 + 1 + 1 + 1 + 2 + 1;
  assertEquals(result, { units: documents, unit: "documents" });

  for (const c of source.shop) {
    const restored = collection(targetDatabases, "shop", c.name);
    assert(restored, `shop.${c.name} restored`);
    assert(sameBytes(restored.documents, c.documents), `shop.${c.name}: documents byte for byte`);
    if (c.name.startsWith("system.buckets.")) continue;
    assertEquals(restored.type ?? "collection", c.type ?? "collection", c.name);
    // Options keep their BSON types (Long stays Long, Int32 stays Int32).
    assertEquals(
      canonical(restored.options ?? {}),
      canonical(c.options ?? {}),
      `${c.name} options`,
    );
    if (c.type === "view") continue;
    const expectedIndexes = c.type === "timeseries"
      ? []
      : c.indexes ?? [{ v: 2, key: { _id: 1 }, name: "_id_" }];
    assertEquals(
      canonical(restored.indexes ?? []),
      canonical(c.type === "timeseries" ? restored.indexes ?? [] : expectedIndexes),
      `${c.name} indexes`,
    );
  }
  // The 0x06 element survived: nothing was decoded and re-encoded.
  const orders = collection(targetDatabases, "shop", "orders")!.documents!;
  assertEquals(orders.at(-1)![4 + 1 + 4 + 4], 0x06);
  // Users and roles were merged in from temporary collections that are gone again;
  // the target's own version document was left alone.
  assertEquals(to.merges, [{ drop: false, db: "" }]);
  assert(
    sameBytes(
      collection(targetDatabases, "admin", "system.users")?.documents,
      source.admin[0].documents,
    ),
  );
  assert(
    sameBytes(
      collection(targetDatabases, "admin", "system.roles")?.documents,
      source.admin[1].documents,
    ),
  );
  assertEquals(
    deserialize(collection(targetDatabases, "admin", "system.version")!.documents![0])._id,
    "featureCompatibilityVersion",
  );
  assertEquals(collection(targetDatabases, "admin", "system.version")!.documents!.length, 1);
  assert(targetDatabases.admin.every((c) => !c.name.startsWith("backupy_restore_")));
  // Bounded batches; validation bypassed for collections, never for time-series buckets.
  const orderInserts = to.inserts.filter((i) => i.ns === "shop.orders");
  assert(orderInserts.length >= 3 && orderInserts.every((i) => i.documents <= 1000 && i.bypass));
  assert(to.inserts.filter((i) => i.ns === "shop.system.buckets.temps").every((i) => !i.bypass));
  // Views are made after the collections they may read.
  assert(to.created.indexOf("shop.cheap_orders") > to.created.indexOf("shop.orders"));
});

Deno.test("MongoDB restore: existing collections are refused before anything is written; --drop replaces them", async () => {
  await using from = MongoWireServer.start({ databases: sourceDatabases() });
  const archive = await dumpOf(from, "shop");
  const targetDatabases: Record<string, WireCollection[]> = {
    shop: [
      { name: "orders", documents: raw([{ _id: "old" }]) },
      { name: "unrelated", documents: raw([{ _id: "kept" }]) },
    ],
  };
  await using to = MongoWireServer.start({ databases: targetDatabases });
  const error = await assertRejects(() => engine(to).restore(streamOf(archive), signal()));
  assertMatch(
    error.message,
    /1 collection\(s\) of the backup already exist in the target: shop\.orders .*--drop.*nothing was written/,
  );
  assertEquals([to.created, to.inserts], [[], []]);
  assertEquals(collection(targetDatabases, "shop", "orders")!.documents!.length, 1);

  const result = await engine(to).restore(streamOf(archive), signal(), { drop: true });
  assertEquals(result.units, 2601 + 2 + 1 + 1 + 1);
  assertEquals(collection(targetDatabases, "shop", "orders")!.documents!.length, 2601);
  // What the backup does not hold stays.
  assertEquals(collection(targetDatabases, "shop", "unrelated")!.documents!.length, 1);
});

Deno.test("MongoDB restore: --rename moves databases and collections; a rule that matches nothing writes nothing", async () => {
  await using from = MongoWireServer.start({ databases: sourceDatabases() });
  const archive = await dumpOf(from, "shop");
  const targetDatabases: Record<string, WireCollection[]> = {
    shop: [{ name: "orders", documents: raw([{ _id: "live" }]) }],
  };
  await using to = MongoWireServer.start({ databases: targetDatabases });
  await engine(to).restore(streamOf(archive), signal(), {
    rename: ["shop=shop_copy", "shop.orders=archive.orders_2024", "shop.temps=shop_copy.temps2"],
  });
  assertEquals(collection(targetDatabases, "archive", "orders_2024")!.documents!.length, 2601);
  assertEquals(collection(targetDatabases, "shop_copy", "customers")!.documents!.length, 2);
  assertEquals(collection(targetDatabases, "shop_copy", "temps2")?.type, "timeseries");
  assertEquals(
    collection(targetDatabases, "shop_copy", "system.buckets.temps2")!.documents!.length,
    1,
  );
  // The view still reads "orders" of its own database, as a renamed database's view does.
  assertEquals(collection(targetDatabases, "shop_copy", "cheap_orders")?.options?.viewOn, "orders");
  assertEquals(
    collection(targetDatabases, "shop", "orders")!.documents!.length,
    1,
    "source db untouched",
  );

  // A target URL that names a database takes a one-database backup under its own name ...
  await engine(to, "shop_restored").restore(streamOf(archive), signal());
  assertEquals(collection(targetDatabases, "shop_restored", "orders")!.documents!.length, 2601);
  // ... and refuses a backup of several, before writing anything.
  const source = sourceDatabases();
  source.analytics = [{ name: "events", documents: raw([{ _id: 1 }]) }];
  await using several = MongoWireServer.start({ databases: source });
  const created = to.created.length;
  const tooMany = await assertRejects(async () =>
    engine(to, "one").restore(streamOf(await dumpOf(several)), signal())
  );
  assertMatch(
    tooMany.message,
    /holds the databases analytics, shop and the target names one \(one\)/,
  );
  assertEquals(to.created.length, created);

  await using empty = MongoWireServer.start({ databases: {} });
  const typo = await assertRejects(() =>
    engine(empty).restore(streamOf(archive), signal(), { rename: ["shopp=x"] })
  );
  assertMatch(
    typo.message,
    /--rename names shopp, which the backup does not hold \(it holds shop\)/,
  );
  assertEquals(empty.created, []);
  for (const bad of ["shop", "shop.orders=other", "a/b=c", "shop.x=shop.system.y"]) {
    await assertRejects(() =>
      engine(empty).restore(streamOf(archive), signal(), { rename: [bad] })
    );
  }
});

/** An archive laid out as mongodump writes one: two namespaces whose blocks interleave. */
function interleavedArchive(options: { damageCrc?: boolean; duplicateId?: boolean } = {}) {
  const entries: PreludeEntry[] = ["a", "b"].map((name) => ({
    db: "mixed",
    collection: name,
    type: "collection",
    options: {},
    indexes: [{ v: 2, key: { _id: 1 }, name: "_id_" }, { v: 2, key: { x: 1 }, name: "x_1" }],
  }));
  const docs = (name: string, from: number) =>
    raw(
      Array.from({ length: 3 }, (_, i) => ({ _id: options.duplicateId ? 0 : from + i, x: name })),
    );
  const parts: Uint8Array[] = [encodePrelude("7.0.4", "mongodump 100.8.0", entries)];
  const crcs = { a: new Crc64Xz(), b: new Crc64Xz() };
  for (const [name, from] of [["a", 0], ["b", 0], ["a", 3], ["b", 3]] as const) {
    const block = docs(name, from);
    for (const d of block) crcs[name].update(d);
    parts.push(encodeBlockHeader("mixed", name), ...block, new Uint8Array([255, 255, 255, 255]));
  }
  for (const name of ["a", "b"] as const) {
    const end = encodeNamespaceEnd(
      "mixed",
      name,
      crcs[name].value() ^ (options.damageCrc ? 1n : 0n),
    );
    parts.push(end.subarray(4)); // the terminator before it was written with the block
  }
  return concatBytes(parts);
}

Deno.test("MongoDB restore: an archive with interleaved namespaces, as mongodump writes them", async () => {
  const targetDatabases: Record<string, WireCollection[]> = {};
  await using to = MongoWireServer.start({ databases: targetDatabases });
  const result = await engine(to).restore(streamOf(interleavedArchive(), 37), signal());
  assertEquals(result.units, 12);
  for (const name of ["a", "b"]) {
    const restored = collection(targetDatabases, "mixed", name)!;
    assertEquals(restored.documents!.map((d) => deserialize(d)._id), [0, 1, 2, 3, 4, 5]);
    assertEquals(restored.indexes!.map((i) => i.name), ["_id_", "x_1"]);
  }
});

Deno.test("MongoDB restore: a damaged archive, a truncated one, and documents the server refuses all fail, named", async () => {
  await using to = MongoWireServer.start({ databases: {} });
  const damaged = await assertRejects(() =>
    engine(to).restore(streamOf(interleavedArchive({ damageCrc: true })), signal())
  );
  assertMatch(damaged.message, /the archive is damaged: namespace mixed\.a: CRC [0-9a-f]+ stored/);

  await using to2 = MongoWireServer.start({ databases: {} });
  const archive = interleavedArchive();
  const cut = await assertRejects(() =>
    engine(to2).restore(streamOf(archive.subarray(0, archive.length - 30)), signal())
  );
  assertMatch(cut.message, /the archive is damaged: the archive ends inside a document/);

  await using to3 = MongoWireServer.start({ databases: {} });
  const refused = await assertRejects(() =>
    engine(to3).restore(streamOf(interleavedArchive({ duplicateId: true })), signal())
  );
  assertMatch(
    refused.message,
    /the server refused 5 of 6 documents for mixed\.a: E11000 duplicate key/,
  );

  await using to4 = MongoWireServer.start({ databases: {} });
  const notArchive = await assertRejects(() =>
    engine(to4).restore(streamOf(new TextEncoder().encode("PGDMP not an archive")), signal())
  );
  assertMatch(notArchive.message, /does not start with the magic 6d e2 99 81/);
  assertEquals(to4.created, []);
});

Deno.test("MongoDB restore: a scratch restore puts every database under its prefix and refuses users", async () => {
  await using from = MongoWireServer.start({ databases: sourceDatabases() });
  const targetDatabases: Record<string, WireCollection[]> = {};
  await using to = MongoWireServer.start({ databases: targetDatabases });
  await engine(to, "", "scratch_1_").restore(streamOf(await dumpOf(from, "shop")), signal());
  assertEquals(Object.keys(targetDatabases), ["scratch_1_shop"]);
  // Read back through the prefix, the names are the backup's own.
  const dump = await engine(to, "", "scratch_1_").dump(signal(), { manifest: true });
  await dump.readable.pipeTo(new WritableStream());
  const names = (await dump.manifest!)!.objects.map((o) => o.name).sort();
  assert(names.includes("shop.orders") && names.every((n) => n.startsWith("shop.")), names.join());
  await engine(to, "", "scratch_1_").dropDatabase("scratch_1_");
  assertEquals(Object.keys(targetDatabases), []);

  const whole = await dumpOf(from);
  const users = await assertRejects(() =>
    engine(to, "", "scratch_2_").restore(streamOf(whole), signal())
  );
  assertMatch(
    users.message,
    /holds (users|roles) \(admin\.system\.(users|roles)\), which a scratch restore cannot keep apart/,
  );
  assertEquals(Object.keys(targetDatabases), []);
});

Deno.test("local mode: backupy-agent restore --drop --rename and verify --level restore --scratch, which leaves nothing behind", async () => {
  await using from = MongoWireServer.start({ databases: sourceDatabases() });
  await using dir = await tempDir("backupy-mongo-restore-");
  const out = join(dir.path, "shop.enc");
  const key = join(dir.path, "shop.key");
  const backup = await runAgent([
    "backup",
    "--target",
    `mongodb://127.0.0.1:${from.port}/shop`,
    "--out",
    out,
    "--generate-key",
    key,
  ]);
  assertEquals(backup.code, 0, backup.stderr);

  const targetDatabases: Record<string, WireCollection[]> = {
    shop_copy: [{ name: "orders", documents: raw([{ _id: "old" }]) }],
  };
  await using to = MongoWireServer.start({ databases: targetDatabases });
  const url = `mongodb://127.0.0.1:${to.port}/shop_copy`;
  const args = ["restore", "--target", url, "--in", out, "--key-file", key];
  const refused = await runAgent(args);
  assertEquals(refused.code, 1, refused.stderr);
  assertMatch(refused.stderr, /shop_copy\.orders .*--drop/);
  const restored = await runAgent([...args, "--drop", "--rename", "shop.log=ops.log"]);
  assertEquals(restored.code, 0, restored.stderr);
  assertMatch(restored.stderr, /OK: restored 2606 documents/);
  assertEquals(collection(targetDatabases, "shop_copy", "orders")!.documents!.length, 2601);
  assertEquals(collection(targetDatabases, "ops", "log")!.documents!.length, 1);
  // Options of other families are refused, naming who takes them.
  const replace = await runAgent([...args, "--replace"]);
  assertEquals(replace.code, 2);
  assertMatch(replace.stderr, /--replace applies to Redis targets only/);

  const scratchDatabases: Record<string, WireCollection[]> = {};
  await using scratch = MongoWireServer.start({ databases: scratchDatabases });
  const verified = await runAgent([
    "verify",
    "--in",
    out,
    "--key-file",
    key,
    "--level",
    "restore",
    "--scratch",
    `mongodb://127.0.0.1:${scratch.port}/`,
  ]);
  assertEquals(verified.code, 0, verified.stderr);
  assertMatch(verified.stderr, /objects equal the manifest's/);
  assert(scratch.created.every((ns) => ns.startsWith("backupy_verify_")), scratch.created.join());
  assertEquals(Object.keys(scratchDatabases), [], "the scratch databases are dropped");
});
