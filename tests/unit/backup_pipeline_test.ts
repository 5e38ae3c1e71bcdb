/**
 * pipeline/backup_pipeline.ts on its own: dump -> header check ->
 * compression -> encryption -> SHA-256 -> sink. What comes out decrypts to
 * what went in; a dump that ends badly, starts in the wrong format or is
 * aborted fails the pipeline, and the output then lacks its terminator.
 */
import { createHash } from "node:crypto";
import { assertEquals, assertMatch, assertRejects } from "../support/assert.ts";
import { aesKey, seededBytes } from "../support/v1_fixtures.ts";
import { decryptBackup } from "../../decrypt/decrypt_backup.ts";
import { runBackupPipeline } from "../../agent/pipeline/backup_pipeline.ts";
import type { DumpFormat, DumpStream } from "../../agent/engines/shared/engine.ts";

/** Starts with "DUMP": a format of this test's own. */
const FORMAT: DumpFormat = {
  description: "test dump",
  headerBytes: 4,
  checkHeader: (head) =>
    new TextDecoder().decode(head.subarray(0, 4)) === "DUMP" ? null : "expected DUMP",
};

/** A dump of `body` in 64 KiB pieces; `failWith` makes it end badly after its bytes. */
function dumpOf(body: Uint8Array, failWith?: Error): DumpStream {
  const pieces: Uint8Array[] = [];
  for (let at = 0; at < body.length; at += 65536) pieces.push(body.subarray(at, at + 65536));
  let settle!: { resolve(): void; reject(e: Error): void };
  const finished = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
  finished.catch(() => {});
  const readable = ReadableStream.from(pieces).pipeThrough(
    new TransformStream({
      flush: () => (failWith ? settle.reject(failWith) : settle.resolve()),
    }),
  );
  return { readable, finished };
}

function collector() {
  const chunks: Uint8Array[] = [];
  return {
    sink: new WritableStream<Uint8Array>({ write: (chunk) => void chunks.push(chunk) }),
    bytes: () => {
      const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
      let at = 0;
      for (const c of chunks) out.set(c, (at += c.length) - c.length);
      return out;
    },
  };
}

async function decrypted(
  encrypted: Uint8Array,
  key: CryptoKey,
  decompress = true,
): Promise<Uint8Array> {
  const out = collector();
  await decryptBackup(ReadableStream.from([encrypted]), out.sink, { key, decompress });
  return out.bytes();
}

for (const compression of ["zstd", "gzip", "none"] as const) {
  Deno.test(`${compression}: the output decrypts to the dump, its SHA-256 and sizes are reported`, async () => {
    const key = await aesKey();
    const body = new Uint8Array([...new TextEncoder().encode("DUMP"), ...seededBytes(300_000)]);
    const out = collector();
    const seen: number[] = [];
    const result = await runBackupPipeline({
      dump: dumpOf(body),
      format: FORMAT,
      compression,
      key,
      sink: out.sink,
      signal: new AbortController().signal,
      onDumped: (bytes) => seen.push(bytes),
    });
    const encrypted = out.bytes();
    assertEquals(result.dumpedBytes, body.length);
    assertEquals(result.encryptedBytes, encrypted.length);
    assertEquals(result.sha256, createHash("sha256").update(encrypted).digest("hex"));
    assertEquals(seen.at(-1), body.length);
    assertEquals(await decrypted(encrypted, key, compression !== "none"), body);
  });
}

Deno.test("a dump in another format fails at its header, naming what it expected", async () => {
  const key = await aesKey();
  const error = await assertRejects(() =>
    runBackupPipeline({
      dump: dumpOf(new TextEncoder().encode("NOPE and more")),
      format: FORMAT,
      compression: "zstd",
      key,
      sink: collector().sink,
      signal: new AbortController().signal,
    })
  );
  assertMatch(String(error), /expected DUMP/);
});

Deno.test("a dump that reports a bad end fails the pipeline; the output has no terminator", async () => {
  const key = await aesKey();
  const out = collector();
  const body = new Uint8Array([...new TextEncoder().encode("DUMP"), ...seededBytes(100_000)]);
  const error = await assertRejects(() =>
    runBackupPipeline({
      dump: dumpOf(body, new Error("the server went away")),
      format: FORMAT,
      compression: "zstd",
      key,
      sink: out.sink,
      signal: new AbortController().signal,
    })
  );
  assertMatch(String(error), /the server went away/);
  await assertRejects(() => decrypted(out.bytes(), key));
});

Deno.test("an abort stops the pipeline with its reason", async () => {
  const key = await aesKey();
  const abort = new AbortController();
  abort.abort(new Error("cancelled by the test"));
  const endless = new ReadableStream<Uint8Array>({
    pull: (controller) => controller.enqueue(new TextEncoder().encode("DUMP".repeat(1000))),
  });
  const error = await assertRejects(() =>
    runBackupPipeline({
      dump: { readable: endless, finished: new Promise(() => {}) },
      format: FORMAT,
      compression: "none",
      key,
      sink: collector().sink,
      signal: abort.signal,
    })
  );
  assertMatch(String(error), /cancelled by the test/);
});

for (const compression of ["zstd", "gzip", "none"] as const) {
  Deno.test(`${compression}: a chunk handed back to the dump is never read again (zstd hands back each one)`, async () => {
    const key = await aesKey();
    const body = new Uint8Array([...new TextEncoder().encode("DUMP"), ...seededBytes(400_000, 5)]);
    // Each piece in a buffer of its own, wiped the moment it comes back: a stage that
    // still read it afterwards would encrypt garbage.
    const dump = dumpOf(body.slice());
    let recycled = 0;
    const recycle = (chunk: Uint8Array) => {
      chunk.fill(0xee);
      recycled++;
    };
    const out = collector();
    await runBackupPipeline({
      dump: { ...dump, recycle },
      format: FORMAT,
      compression,
      key,
      sink: out.sink,
      signal: new AbortController().signal,
    });
    assertEquals(await decrypted(out.bytes(), key, compression !== "none"), body);
    // Every piece comes back (the first as the header check's copy of it).
    assertEquals(recycled, compression === "zstd" ? Math.ceil(body.length / 65536) : 0);
  });
}
