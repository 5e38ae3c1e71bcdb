/** control/backoff.ts: reconnect delays, doubling to a cap with jitter. */
import { assertEquals } from "../support/assert.ts";
import { Backoff } from "../../agent/control/backoff.ts";

Deno.test("backoff: 1 s doubling to a 60 s cap, +-20% jitter, reset", () => {
  const mid = new Backoff({ random: () => 0.5 });
  assertEquals(Array.from({ length: 8 }, () => mid.next()), [
    1000,
    2000,
    4000,
    8000,
    16000,
    32000,
    60000,
    60000,
  ]);
  mid.reset();
  assertEquals(mid.next(), 1000);
  assertEquals(new Backoff({ random: () => 0 }).next(), 800);
  assertEquals(new Backoff({ random: () => 0.999999 }).next(), 1200);
  assertEquals(new Backoff({ random: () => 0.5 }).atCap(), 60000);
});
