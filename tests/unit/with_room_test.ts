/** bytes/with_room.ts: the same array while it has room; else a doubled one of its kind, the used part kept. */
import { withRoom } from "../../agent/bytes/with_room.ts";
import { assert, assertEquals } from "../support/assert.ts";

Deno.test("withRoom: an array with room comes back itself", () => {
  const array = new Uint8Array(8);
  assert(withRoom(array, 3, 8) === array);
});

Deno.test("withRoom: a full one grows by doubling, keeps its kind and only its used elements", () => {
  const offsets = new Uint32Array([1, 2, 3, 4]);
  const grown = withRoom(offsets, 3, 9);
  assert(grown instanceof Uint32Array);
  assertEquals(grown.length, 16);
  assertEquals([...grown.subarray(0, 4)], [1, 2, 3, 0]);
  assertEquals(withRoom(new Uint8Array(0), 0, 3).length, 4);
});
