/**
 * Benchmark: the native MongoDB engine against the wire-compatible test
 * server holding BENCH_MONGO_MIB (default 1024) MiB of 4 KiB documents in
 * four collections. In one run: the archive written to a discarding sink
 * against reading the same documents with the bare driver (the ceiling), and
 * the agent's end-to-end local-mode backup with its peak RSS (target < 150
 * MiB).
 *
 *   BENCH_ONLY=mongo deno task bench
 */
import { Binary, Int32, serialize } from "bson";
import { join } from "node:path";
import { AGENT_PERMISSIONS, ROOT } from "../support/programs.ts";
import { MongoWireServer } from "../support/mongo_wire_server.ts";
import { measure, type Measurement } from "./measure.ts";

const MIB = Number(Deno.env.get("BENCH_MONGO_MIB") ?? 1024);
const PASSWORD = crypto.randomUUID();
const DOC_BYTES = 4096;
const count = Math.ceil((MIB * 1024 * 1024) / DOC_BYTES);
const payload = new Uint8Array(DOC_BYTES - 200);
for (let i = 0; i < payload.length; i++) payload[i] = (i * 2654435761) >>> 24;
const collections = Array.from({ length: 4 }, (_, c) => ({
  name: `items${c}`,
  uuid: new Uint8Array(16).fill(c + 1),
  documents: Array.from(
    { length: Math.ceil(count / 4) },
    (_, i) =>
      serialize({ _id: i, n: new Int32(i), name: `item ${i}`, payload: new Binary(payload) }),
  ),
}));
const bytes = collections.reduce((n, c) => n + c.documents.reduce((m, d) => m + d.length, 0), 0);
await using server = MongoWireServer.start({
  databases: { bench: collections },
  user: { name: "root", password: PASSWORD },
  // Like a real server: replies up to 16 MiB unless the client asks for fewer documents.
  getMoreBatch: 1_000_000,
});
const host = `127.0.0.1:${server.port}`;
const url = `mongodb://root:${PASSWORD}@${host}/`;
const dir = await Deno.makeTempDir({ prefix: "backupy-mongo-bench-" });
try {
  console.log(`\nmongo benchmark: ${(bytes / 1024 / 1024).toFixed(0)} MiB of documents`);
  const permissions = ["run", ...AGENT_PERMISSIONS];
  const driver = await measure(Deno.execPath(), [
    ...permissions,
    join(ROOT, "tests/bench/mongo_read.ts"),
    url,
  ]);
  Deno.env.set("BENCH_MONGO_PASSWORD", PASSWORD);
  const ours = await measure(Deno.execPath(), [
    ...permissions,
    join(ROOT, "tests/bench/mongo_dump.ts"),
    host,
    "root",
  ]);
  await Deno.writeTextFile(join(dir, "key"), crypto.getRandomValues(new Uint8Array(32)).toHex());
  const endToEnd = await measure(Deno.execPath(), [
    ...permissions,
    join(ROOT, "agent/main.ts"),
    "backup",
    "--target",
    url,
    "--out",
    join(dir, "ours.enc"),
    "--key-file",
    join(dir, "key"),
  ]);
  const line = (label: string, m: Measurement) =>
    `${label.padEnd(44)} ${m.seconds.toFixed(2).padStart(6)} s  ${
      (bytes / 1024 / 1024 / m.seconds).toFixed(0).padStart(4)
    } MiB/s  peak RSS ${m.peakRssMiB.toFixed(0)} MiB`;
  console.log(line("bare driver, raw documents (the ceiling)", driver));
  console.log(line("backupy MongoDB engine (archive, dump only)", ours));
  console.log(`ratio (dump): ${(ours.seconds / driver.seconds).toFixed(2)}x`);
  console.log(line("backupy-agent backup (end to end)", endToEnd));
  console.log(`peak RSS end to end: ${endToEnd.peakRssMiB.toFixed(0)} MiB (target < 150 MiB)`);
} finally {
  await Deno.remove(dir, { recursive: true });
}
