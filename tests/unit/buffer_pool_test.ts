/** bytes/buffer_pool.ts: buffers come back only from the pool's own loans, each once, up to its keep. */
import { BufferPool } from "../../agent/bytes/buffer_pool.ts";
import { assert, assertEquals } from "../support/assert.ts";

Deno.test("BufferPool: a buffer given back is lent again; a view of it counts as it", () => {
  const pool = new BufferPool(16);
  const first = pool.lend();
  assertEquals(first.length, 16);
  pool.giveBack(first.subarray(0, 5));
  assert(pool.lend().buffer === first.buffer);
});

Deno.test("BufferPool: foreign buffers and a second give-back are ignored", () => {
  const pool = new BufferPool(16);
  pool.giveBack(new Uint8Array(16));
  const lent = pool.lend();
  pool.giveBack(lent);
  pool.giveBack(lent);
  const a = pool.lend();
  const b = pool.lend();
  // Given back twice, it would be lent to both: two writers on one buffer.
  assert(a.buffer !== b.buffer);
});

Deno.test("BufferPool: keeps at most `keep` free buffers", () => {
  const pool = new BufferPool(8, 2);
  const lent = [pool.lend(), pool.lend(), pool.lend()];
  for (const view of lent) pool.giveBack(view);
  const again = [pool.lend(), pool.lend(), pool.lend()];
  const reused = again.filter((view) => lent.some((old) => old.buffer === view.buffer));
  assertEquals(reused.length, 2);
});
