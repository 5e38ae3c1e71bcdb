/** engines/mongodb/mongo_engine.ts: which collections a dump takes, and its batch sizes. */
import { batchSizeFor, dumpsCollection } from "../../agent/engines/mongodb/mongo_engine.ts";
import { assert, assertEquals } from "../support/assert.ts";

Deno.test("collections a dump takes, as mongodump: no system.* but system.js, no $ names", () => {
  assert(dumpsCollection("orders"));
  assert(dumpsCollection("system.js"));
  assert(!dumpsCollection("system.profile"));
  assert(!dumpsCollection("system.buckets.temps"));
  assert(!dumpsCollection("weird$name"));
});

Deno.test("find batches are sized for replies of about 256 KiB", () => {
  assertEquals(batchSizeFor(4096), 64);
  assertEquals(batchSizeFor(10), 10_000);
  assertEquals(batchSizeFor(8 * 1024 * 1024), 16);
  assertEquals(batchSizeFor(NaN), 1000);
  assertEquals(batchSizeFor(0), 1000);
});
