/** engines/mongodb/mongo_engine.ts: which collections a dump takes, and its batch sizes. */
import { batchSizeFor, dumpsCollection } from "../../agent/engines/mongodb/mongo_engine.ts";
import { assert, assertEquals } from "../support/assert.ts";

Deno.test("collections a dump takes, as mongodump: no system.* but system.js, no $ names", () => {
  assert(dumpsCollection("shop", "orders"));
  assert(dumpsCollection("shop", "system.js"));
  assert(!dumpsCollection("shop", "system.profile"));
  assert(!dumpsCollection("shop", "system.buckets.temps"));
  assert(!dumpsCollection("shop", "weird$name"));
  // admin whole but its signing keys; config's sharding collections in a whole-server dump.
  assert(dumpsCollection("admin", "system.users") && dumpsCollection("admin", "system.roles"));
  assert(dumpsCollection("admin", "system.version") && dumpsCollection("admin", "anything"));
  assert(!dumpsCollection("admin", "system.keys"));
  assert(dumpsCollection("config", "settings", true) && dumpsCollection("config", "chunks", true));
  assert(!dumpsCollection("config", "system.sessions", true));
  assert(!dumpsCollection("config", "transactions", true));
  assert(dumpsCollection("config", "transactions", false));
});

Deno.test("find batches are sized for replies of about 256 KiB", () => {
  assertEquals(batchSizeFor(4096), 64);
  assertEquals(batchSizeFor(10), 10_000);
  assertEquals(batchSizeFor(8 * 1024 * 1024), 16);
  assertEquals(batchSizeFor(NaN), 1000);
  assertEquals(batchSizeFor(0), 1000);
});
