/**
 * Manifests read from a dump's own bytes: an RDB gives each database's keys
 * and its replication position; a format without per-object facts (a
 * SQLite file here) gives none; the bytes pass through unchanged.
 */
import { assertEquals } from "../support/assert.ts";
import { Crc64Jones } from "../../agent/bytes/crc64.ts";
import { withStreamManifest } from "../../agent/verify/stream_manifest.ts";
import { RowDigest } from "../../agent/manifest/row_digest.ts";
import type { DumpStream } from "../../agent/engines/shared/engine.ts";

function rdb(): Uint8Array {
  const s = (text: string) => [text.length, ...new TextEncoder().encode(text)];
  const body = [
    ...new TextEncoder().encode("REDIS0011"),
    0xfa,
    ...s("repl-id"),
    ...s("abc123"),
    0xfa,
    ...s("repl-offset"),
    ...s("42"),
    0xfe,
    0x00,
    0xfb,
    0x02,
    0x00,
    0x00,
    ...s("a"),
    ...s("x"),
    0xfc,
    1,
    2,
    3,
    4,
    5,
    6,
    7,
    8, // an expiry before the next key
    0x00,
    ...s("b"),
    ...s("y"),
    0xfe,
    0x03,
    0x00,
    ...s("c"),
    0xc0,
    0x07, // an int8-encoded value
    0xff,
  ];
  const crc = new Crc64Jones();
  crc.update(new Uint8Array(body));
  const out = new Uint8Array(body.length + 8);
  out.set(body);
  new DataView(out.buffer).setBigUint64(body.length, crc.value(), true);
  return out;
}

function dumpOf(bytes: Uint8Array): DumpStream {
  // Split in uneven pieces, as a socket would deliver them.
  const pieces = [bytes.subarray(0, 5), bytes.subarray(5, 23), bytes.subarray(23)];
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  const readable = ReadableStream.from(pieces).pipeThrough(
    new TransformStream({ flush: () => finish() }),
  );
  return { readable, finished };
}

Deno.test("stream manifest: an RDB's keys per database and its replication position", async () => {
  const bytes = rdb();
  const dump = await withStreamManifest(dumpOf(bytes), Deno.cwd());
  const passed = await new Response(dump.readable).bytes();
  assertEquals(passed, bytes);
  const digest = (...keys: string[]) => {
    const d = new RowDigest();
    for (const key of keys) d.add(new TextEncoder().encode(`string:${key}`));
    return d.hex();
  };
  assertEquals(await dump.manifest, {
    objects: [
      { name: "db0", rows: 2, digest: digest("a", "b") },
      { name: "db3", rows: 1, digest: digest("c") },
    ],
    snapshot: { repl_id: "abc123", repl_offset: "42" },
  });
});

Deno.test("stream manifest: a SQLite file gets none, and its bytes pass unchanged", async () => {
  const bytes = new Uint8Array(4096);
  bytes.set(new TextEncoder().encode("SQLite format 3\0"));
  const dump = await withStreamManifest(dumpOf(bytes), Deno.cwd());
  assertEquals(await new Response(dump.readable).bytes(), bytes);
  assertEquals(await dump.manifest, undefined);
});

Deno.test("stream manifest: an engine whose dump finished before its bytes were read still gets its manifest", async () => {
  // A small RDB arrives whole before anyone reads it: the engine's `finished` settles first.
  const bytes = rdb();
  const dump = await withStreamManifest(
    { readable: ReadableStream.from([bytes]), finished: Promise.resolve() },
    Deno.cwd(),
  );
  await new Promise((resolve) => setTimeout(resolve, 10));
  assertEquals(await new Response(dump.readable).bytes(), bytes);
  assertEquals((await dump.manifest)?.objects.map((o) => [o.name, o.rows]), [["db0", 2], [
    "db3",
    1,
  ]]);
});

Deno.test("stream manifest: a dump read for its manifest hands no chunk back for reuse; one with its own manifest keeps that", async () => {
  const recycle = () => {};
  // The format checks may keep views of what they were fed.
  const read = await withStreamManifest({ ...dumpOf(rdb()), recycle }, Deno.cwd());
  assertEquals(read.recycle, undefined);
  await new Response(read.readable).bytes();
  const own: DumpStream = {
    ...dumpOf(rdb()),
    manifest: Promise.resolve(undefined),
    recycle,
  };
  assertEquals((await withStreamManifest(own, Deno.cwd())).recycle, recycle);
});
