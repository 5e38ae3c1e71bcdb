/** bytes/byte_builder.ts: text, ASCII and decimal appends, growth, and take. */
import { BufferPool } from "../../agent/bytes/buffer_pool.ts";
import { ByteBuilder } from "../../agent/bytes/byte_builder.ts";
import { assert, assertEquals } from "../support/assert.ts";

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

Deno.test("ByteBuilder: ASCII and decimals byte by byte; anything else is refused untouched", () => {
  const out = new ByteBuilder(4);
  assert(out.ascii("RESTORE "));
  for (const n of [0, 7, 10, 65535, 1733580000000]) {
    out.decimal(n);
    out.byte(0x20);
  }
  // Not ASCII: nothing is written, and the caller encodes it instead.
  assertEquals(out.ascii("naïve"), false);
  assertEquals(out.length, "RESTORE 0 7 10 65535 1733580000000 ".length);
  out.text("naïve ✓");
  assertEquals(text(out.take()), "RESTORE 0 7 10 65535 1733580000000 naïve ✓");
  assertEquals(out.length, 0);
  out.hex(new Uint8Array([0, 0xab]));
  assertEquals(text(out.take()), "0x00AB");
});

Deno.test("ByteBuilder: spans are appended one after another, the gaps between them left out", () => {
  const source = new TextEncoder().encode("..abc...de.f.....");
  const out = new ByteBuilder(2);
  out.text(">");
  out.spans(source, new Uint32Array([2, 5, 8, 10, 11, 12]), 3);
  out.spans(source, new Uint32Array([0, 0]), 0);
  assertEquals(text(out.take()), ">abcdef");
});

Deno.test("ByteBuilder: with a pool, each buffer taken whole is replaced by one of the pool's", () => {
  const pool = new BufferPool(8);
  const out = new ByteBuilder(0, pool);
  const bytes = (value: string) => out.bytes(new TextEncoder().encode(value));
  bytes("12345678");
  const first = out.take();
  assertEquals(text(first), "12345678");
  pool.giveBack(first);
  bytes("abcdefgh");
  const second = out.take();
  // The builder's next buffer came from the pool: the one given back.
  bytes("ABCDEFGH");
  assert(out.view(0).buffer === first.buffer);
  assertEquals(text(second), "abcdefgh");
});

Deno.test("ByteBuilder: with a pool, a buffer grown for one large write is followed by a pool's buffer again", () => {
  const pool = new BufferPool(8);
  const out = new ByteBuilder(0, pool);
  out.bytes(new TextEncoder().encode("0123456789AB"));
  assertEquals(text(out.take()), "0123456789AB");
  out.byte(0x21);
  assertEquals(out.view(0).buffer.byteLength, 8);
});
