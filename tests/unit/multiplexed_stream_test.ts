/** docker/multiplexed_stream.ts: Docker's exec stream split into stdout and stderr, and gathered. */
import { ChunkCoalescer, FrameParser } from "../../agent/docker/multiplexed_stream.ts";
import { assertEquals, assertThrows } from "../support/assert.ts";

function frame(type: number, payload: string): Uint8Array {
  const body = new TextEncoder().encode(payload);
  const out = new Uint8Array(8 + body.length);
  out[0] = type;
  new DataView(out.buffer).setUint32(4, body.length);
  out.set(body, 8);
  return out;
}

Deno.test("the exec stream parser splits stdout from stderr across any chunking", () => {
  const whole = new Uint8Array([
    ...frame(2, "1234\n"),
    ...frame(1, "hello "),
    ...frame(2, "warn"),
    ...frame(1, "world"),
    ...frame(1, ""),
  ]);
  for (const size of [1, 3, 8, 9, whole.length]) {
    let stdout = "";
    let stderr = "";
    const parser = new FrameParser(
      (b) => (stdout += new TextDecoder().decode(b)),
      (b) => (stderr += new TextDecoder().decode(b)),
    );
    for (let i = 0; i < whole.length; i += size) parser.feed(whole.slice(i, i + size));
    parser.finish();
    assertEquals(stdout, "hello world", `chunks of ${size}`);
    assertEquals(stderr, "1234\nwarn");
  }
  const cut = new FrameParser(() => {}, () => {});
  cut.feed(frame(1, "abc").slice(0, 9));
  assertThrows(() => cut.finish());
  assertThrows(() => new FrameParser(() => {}, () => {}).feed(frame(7, "x")));
});

Deno.test("small stdout pieces are gathered into full chunks", () => {
  const chunks: number[] = [];
  const coalescer = new ChunkCoalescer(10, (chunk) => chunks.push(chunk.length));
  for (let i = 0; i < 7; i++) coalescer.push(new Uint8Array(4));
  coalescer.flush();
  coalescer.flush();
  assertEquals(chunks, [10, 10, 8]);
});
