/**
 * Decompression of decrypted backups: detection by magic, zstd and gzip,
 * fail-fast on data that is neither, and truncation caught explicitly
 * (Deno's zstd decoder alone returns partial output without an error).
 */
import { assertEquals, assertRejects } from "../support/assert.ts";
import { compress, seededBytes } from "../support/v1_fixtures.ts";
import { decompressStream } from "../../decrypt/decompress_stream.ts";
import { DecompressionError } from "../../decrypt/errors.ts";
import { constants, zstdCompressSync } from "node:zlib";

async function decompressAll(data: Uint8Array, chunkSize = 4096): Promise<Uint8Array> {
  const pieces: Uint8Array[] = [];
  for (let at = 0; at < data.length; at += chunkSize) {
    pieces.push(data.subarray(at, at + chunkSize));
  }
  return await new Response(decompressStream(ReadableStream.from(pieces))).bytes();
}

const text = new TextEncoder().encode("CREATE TABLE t (id int);\n".repeat(50_000));
const mixed = new Uint8Array([...text.subarray(0, 300_000), ...seededBytes(700_000, 3)]);

for (const compression of ["zstd", "gzip"] as const) {
  Deno.test(`${compression}: round trip in any chunking`, async () => {
    const packed = compress(mixed, compression);
    let found = "";
    const out = await new Response(
      decompressStream(ReadableStream.from([packed]), (c) => found = c),
    ).bytes();
    assertEquals(out, mixed);
    assertEquals(found, compression);
    assertEquals(await decompressAll(packed, 997), mixed);
    const small = text.subarray(0, 30_000);
    assertEquals(await decompressAll(compress(small, compression), 1), small); // byte by byte
  });

  Deno.test(`${compression}: truncated stream is an error`, async () => {
    const packed = compress(mixed, compression);
    for (const cut of [1, 3, 4, 10, Math.floor(packed.length / 2), packed.length - 6]) {
      await assertRejects(
        () => decompressAll(packed.subarray(0, packed.length - cut)),
        DecompressionError,
        undefined,
      );
    }
  });

  Deno.test(`${compression}: corrupt data is an error, never a crash`, async () => {
    const packed = compress(text, compression).slice();
    packed[Math.floor(packed.length / 2)] ^= 0xff;
    await assertRejects(() => decompressAll(packed), DecompressionError);
  });
}

Deno.test("zstd: a truncated frame that Deno's decoder alone would accept", async () => {
  const packed = compress(text.subarray(0, 100_000), "zstd");
  // Cutting only the 4-byte checksum: the decoder emits everything, no error.
  await assertRejects(
    () => decompressAll(packed.subarray(0, packed.length - 4)),
    DecompressionError,
    "compressed stream is truncated: zstd frame 0 is incomplete",
  );
});

Deno.test("zstd: several frames and skippable frames decode in order", async () => {
  const a = compress(text.subarray(0, 1000), "zstd");
  const b = new Uint8Array(zstdCompressSync(text.subarray(1000, 5000), {
    params: { [constants.ZSTD_c_checksumFlag]: 0 },
  }));
  const skippable = new Uint8Array([0x50, 0x2a, 0x4d, 0x18, 3, 0, 0, 0, 9, 9, 9]);
  const joined = new Uint8Array([...a, ...skippable, ...b]);
  assertEquals(await decompressAll(joined, 7), text.slice(0, 5000));
});

Deno.test("neither zstd nor gzip fails at once with a hint, also on a short input", async () => {
  for (
    const data of [new TextEncoder().encode("-- PostgreSQL database dump"), new Uint8Array([7])]
  ) {
    await assertRejects(() => decompressAll(data), DecompressionError, "--skip-decompress");
  }
  // An endless stream of non-compressed data must not hang: the first bytes decide.
  let pulled = 0;
  const endless = new ReadableStream<Uint8Array>({
    pull(controller) {
      pulled++;
      controller.enqueue(new TextEncoder().encode("SQLite format 3\0 and so on"));
    },
  });
  await assertRejects(
    () => new Response(decompressStream(endless)).bytes(),
    DecompressionError,
    "neither zstd nor gzip",
  );
  assertEquals(pulled < 5, true);
});

Deno.test("empty input decompresses to nothing", async () => {
  assertEquals((await decompressAll(new Uint8Array(0))).length, 0);
});
