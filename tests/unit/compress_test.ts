/** The compression stage the agent writes with. */
import { assertEquals } from "../support/assert.ts";
import { seededBytes } from "../support/v1_fixtures.ts";
import { compressStream } from "../../decrypt/compress_stream.ts";
import { decompressStream } from "../../decrypt/decompress_stream.ts";
import { ZstdFrameScanner } from "../../decrypt/zstd_frame_scanner.ts";

async function compressAll(data: Uint8Array, kind: "zstd" | "gzip" | "none") {
  const pieces: Uint8Array[] = [];
  for (let at = 0; at < data.length; at += 100_000) pieces.push(data.subarray(at, at + 100_000));
  return await new Response(ReadableStream.from(pieces).pipeThrough(compressStream(kind))).bytes();
}

const sample = new Uint8Array([
  ...new TextEncoder().encode("INSERT INTO t VALUES (1, 'x');\n".repeat(40_000)),
  ...seededBytes(500_000, 2),
]);

for (const kind of ["zstd", "gzip"] as const) {
  Deno.test(`${kind} compression round-trips and shrinks text`, async () => {
    const packed = await compressAll(sample, kind);
    assertEquals(packed.length < sample.length, true);
    assertEquals(
      await new Response(decompressStream(ReadableStream.from([packed]))).bytes(),
      sample,
    );
  });
}

Deno.test("zstd writes one frame with a content checksum", async () => {
  const packed = await compressAll(sample, "zstd");
  const scanner = new ZstdFrameScanner();
  scanner.push(packed);
  scanner.finish();
  assertEquals(scanner.frames, 1);
  assertEquals((packed[4] & 0x04) !== 0, true, "Content_Checksum_flag");
});

Deno.test("an empty input compresses to zero bytes with zstd", async () => {
  assertEquals((await compressAll(new Uint8Array(0), "zstd")).length, 0);
});

Deno.test("none passes bytes through", async () => {
  assertEquals(await compressAll(sample, "none"), sample);
});
