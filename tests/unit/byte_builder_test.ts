/** bytes/byte_builder.ts: text, ASCII and decimal appends, growth, and take. */
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
