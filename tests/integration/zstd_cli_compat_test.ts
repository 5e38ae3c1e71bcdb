/**
 * Our compressed output is what standard tools read, and what they write is
 * what we read: checked against Debian's `zstd` and `gzip` command-line
 * tools (installed by tests/services.sh).
 */
import { assertEquals } from "../support/assert.ts";
import { seededBytes } from "../support/v1_fixtures.ts";
import { compressStream } from "../../decrypt/compress_stream.ts";
import { decompressStream } from "../../decrypt/decompress_stream.ts";

const sample = new Uint8Array([
  ...new TextEncoder().encode("INSERT INTO t VALUES (42, 'text');\n".repeat(60_000)),
  ...seededBytes(1_500_000, 8),
]);

async function tool(command: string, args: string[], input: Uint8Array): Promise<Uint8Array> {
  const child = new Deno.Command(command, {
    args,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  })
    .spawn();
  const feeding = (async () => {
    const writer = child.stdin.getWriter();
    await writer.write(input);
    await writer.close();
  })();
  const [output] = await Promise.all([child.output(), feeding]);
  assertEquals(
    output.code,
    0,
    `${command} ${args.join(" ")}: ${new TextDecoder().decode(output.stderr)}`,
  );
  return output.stdout;
}

async function ours(kind: "zstd" | "gzip"): Promise<Uint8Array> {
  return await new Response(ReadableStream.from([sample]).pipeThrough(compressStream(kind)))
    .bytes();
}

Deno.test("the zstd CLI decodes our zstd output and finds its checksum", async () => {
  const packed = await ours("zstd");
  assertEquals(await tool("zstd", ["-d", "-c", "-q"], packed), sample);
  const file = await Deno.makeTempFile({ suffix: ".zst" });
  try {
    await Deno.writeFile(file, packed);
    const listing = await new Deno.Command("zstd", { args: ["-lv", file], stdout: "piped" })
      .output();
    const text = new TextDecoder().decode(listing.stdout);
    assertEquals(listing.code, 0);
    assertEquals(/# Zstandard Frames: 1\b/.test(text), true, text);
    assertEquals(/Check: XXH64/.test(text), true, text);
  } finally {
    await Deno.remove(file);
  }
});

Deno.test("gzip -d decodes our gzip output", async () => {
  assertEquals(await tool("gzip", ["-d", "-c"], await ours("gzip")), sample);
});

Deno.test("we decode what the zstd CLI writes, also several frames concatenated", async () => {
  const one = await tool("zstd", ["-3", "-c", "-q"], sample);
  const two = await tool("zstd", ["-19", "--no-check", "-c", "-q"], sample.subarray(0, 5000));
  const joined = new Uint8Array([...one, ...two]);
  const out = await new Response(decompressStream(ReadableStream.from([joined]))).bytes();
  assertEquals(out, new Uint8Array([...sample, ...sample.subarray(0, 5000)]));
});

Deno.test("we decode what gzip writes", async () => {
  const packed = await tool("gzip", ["-6", "-c"], sample);
  assertEquals(await new Response(decompressStream(ReadableStream.from([packed]))).bytes(), sample);
});
