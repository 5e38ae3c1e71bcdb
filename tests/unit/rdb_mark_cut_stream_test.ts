/** engines/redis/rdb_mark_cut_stream.ts: redis-cli's trailing mark cut after the RDB. */
import { Crc64Jones } from "../../agent/bytes/crc64.ts";
import { RdbTrailer } from "../../agent/engines/redis/rdb_format.ts";
import { RdbMarkCutStream } from "../../agent/engines/redis/rdb_mark_cut_stream.ts";
import { assertEquals } from "../support/assert.ts";

/** A small, valid RDB: header, some bytes, EOF opcode, CRC-64/Jones. */
function rdb(withChecksum = true): Uint8Array {
  const body = new Uint8Array([...new TextEncoder().encode("REDIS0011"), 0xfa, 1, 2, 3, 0xff]);
  const crc = new Crc64Jones();
  crc.update(body);
  const out = new Uint8Array(body.length + 8);
  out.set(body);
  if (withChecksum) new DataView(out.buffer).setBigUint64(body.length, crc.value(), true);
  return out;
}

async function cut(bytes: Uint8Array, chunk = 7): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i += chunk) chunks.push(bytes.slice(i, i + chunk));
  return new Uint8Array(
    await new Response(ReadableStream.from(chunks).pipeThrough(new RdbMarkCutStream()))
      .arrayBuffer(),
  );
}

Deno.test("redis-cli's trailing EOF mark is cut after the RDB's checksum", async () => {
  const mark = new TextEncoder().encode("0123456789abcdef0123456789abcdef01234567");
  for (const withChecksum of [true, false]) {
    const file = rdb(withChecksum);
    assertEquals(await cut(file), file, "a plain RDB passes unchanged");
    assertEquals(await cut(new Uint8Array([...file, ...mark])), file, "the mark is dropped");
    const trailer = new RdbTrailer();
    trailer.update(await cut(new Uint8Array([...file, ...mark])));
    assertEquals(trailer.problem(), null);
  }
  // Not an RDB plus a mark: passed through whole, for the RDB check to reject.
  const junk = new Uint8Array(100).fill(7);
  assertEquals(await cut(junk), junk);
  const truncated = rdb().slice(0, 10);
  assertEquals(await cut(truncated), truncated);
});
