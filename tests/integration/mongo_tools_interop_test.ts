/**
 * MongoDB's own database tools against ours, when BACKUPY_TEST_MONGO_TOOLS
 * names a directory holding `mongodump` and `mongorestore` (built beside
 * the project from mongodb/mongo-tools, as docs/engines.md section 3 says;
 * never part of the repository): an archive the real mongodump writes is
 * restored by `backupy-agent restore`, and an archive our engine writes is
 * restored by the real mongorestore, both byte for byte, through the
 * wire-compatible test server. Each direction's time is printed beside the
 * other tool's, for the closing figures.
 */
import { Double, Int32, Long, ObjectId, serialize } from "bson";
import { join } from "node:path";
import { MongoEngine } from "../../agent/engines/mongodb/mongo_engine.ts";
import { fileSource } from "../../decrypt/file_source.ts";
import { tempDir } from "../support/agent_fixtures.ts";
import { assert, assertEquals } from "../support/assert.ts";
import { MongoWireServer, type WireCollection } from "../support/mongo_wire_server.ts";

const TOOLS = Deno.env.get("BACKUPY_TEST_MONGO_TOOLS");
const DOCUMENTS = Number(Deno.env.get("BACKUPY_TEST_MONGO_TOOLS_DOCUMENTS") ?? 20_000);

function databases(): Record<string, WireCollection[]> {
  const docs = Array.from({ length: DOCUMENTS }, (_, i) =>
    serialize({
      _id: new ObjectId(i.toString(16).padStart(24, "0")),
      i: new Int32(i),
      l: Long.fromNumber(i * 1e6),
      d: new Double(i / 7),
      s: `document ${i} ${"x".repeat(i % 300)}`,
      nested: { a: [i, { b: "c" }] },
    }));
  return {
    shop: [
      {
        name: "orders",
        documents: docs,
        indexes: [
          { v: 2, key: { _id: 1 }, name: "_id_" },
          { v: 2, key: { i: 1 }, name: "i_1", unique: true },
        ],
      },
      {
        name: "log",
        options: { capped: true, size: Long.fromNumber(1048576) },
        documents: docs.slice(0, 10),
      },
      { name: "recent", type: "view", options: { viewOn: "orders", pipeline: [] } },
    ],
  };
}

async function run(tool: string, args: string[]): Promise<number> {
  const started = performance.now();
  const out = await new Deno.Command(join(TOOLS!, tool), { args, stdout: "piped", stderr: "piped" })
    .output();
  assert(out.success, `${tool}: ${new TextDecoder().decode(out.stderr)}`);
  return performance.now() - started;
}

function assertSameDocuments(
  got: Record<string, WireCollection[]>,
  expected: Record<string, WireCollection[]>,
) {
  for (const c of expected.shop) {
    const restored = got.shop?.find((r) => r.name === c.name);
    assert(restored, `shop.${c.name} restored`);
    assertEquals(restored.type ?? "collection", c.type ?? "collection");
    const want = c.documents ?? [];
    assertEquals(restored.documents?.length ?? 0, want.length, `shop.${c.name}`);
    restored.documents?.forEach((d, i) =>
      assertEquals(d.toHex(), want[i].toHex(), `shop.${c.name}[${i}]`)
    );
    if (c.type !== "view") {
      assertEquals(
        restored.indexes?.map((x) => x.name),
        (c.indexes ?? [{ name: "_id_" }]).map((x) => x.name),
      );
    }
  }
}

Deno.test({
  name: "mongo-tools: mongodump's archive restored by us, ours by mongorestore, byte for byte",
  ignore: !TOOLS,
  async fn() {
    await using dir = await tempDir("backupy-mongo-tools-");
    const source = databases();
    await using from = MongoWireServer.start({ databases: source });

    // Theirs into ours.
    const theirs = join(dir.path, "mongodump.archive");
    const dumpMs = await run("mongodump", [
      `--uri=mongodb://127.0.0.1:${from.port}/`,
      `--archive=${theirs}`,
    ]);
    const intoOurs: Record<string, WireCollection[]> = {};
    await using target = MongoWireServer.start({ databases: intoOurs });
    let started = performance.now();
    const restored = await new MongoEngine({ hosts: [`127.0.0.1:${target.port}`], database: "" })
      .restore(fileSource(await Deno.open(theirs)), new AbortController().signal);
    const oursMs = performance.now() - started;
    assertEquals(restored.units, DOCUMENTS + 10);
    assertSameDocuments(intoOurs, source);

    // Ours into theirs.
    const archive = join(dir.path, "ours.archive");
    started = performance.now();
    const dump = await new MongoEngine({ hosts: [`127.0.0.1:${from.port}`], database: "" })
      .dump(new AbortController().signal);
    await dump.readable.pipeTo((await Deno.create(archive)).writable);
    await dump.finished;
    const ourDumpMs = performance.now() - started;
    const intoTheirs: Record<string, WireCollection[]> = {};
    await using theirTarget = MongoWireServer.start({ databases: intoTheirs });
    const mongorestoreMs = await run("mongorestore", [
      `--uri=mongodb://127.0.0.1:${theirTarget.port}/`,
      `--archive=${archive}`,
    ]);
    assertSameDocuments(intoTheirs, source);
    console.log(
      `${DOCUMENTS} documents: mongodump ${dumpMs.toFixed(0)} ms, our dump ${
        ourDumpMs.toFixed(0)
      } ms; mongorestore ${mongorestoreMs.toFixed(0)} ms, our restore ${oursMs.toFixed(0)} ms`,
    );
  },
});
