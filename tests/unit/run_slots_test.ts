/** runs/run_slots.ts: how many runs at once, one per target, in arrival order. */
import { assertEquals, assertRejects } from "../support/assert.ts";
import { RunSlots } from "../../agent/runs/run_slots.ts";

Deno.test("slots: at most N runs, never two on one target, in arrival order", async () => {
  let max = 2;
  const slots = new RunSlots(() => max);
  const signal = new AbortController().signal;
  const a = await slots.acquire("t1", signal);
  const order: string[] = [];
  const b = slots.acquire("t1", signal).then((release) => (order.push("t1-second"), release));
  const c = await slots.acquire("t2", signal);
  const d = slots.acquire("t3", signal).then((release) => (order.push("t3"), release));
  await new Promise((r) => setTimeout(r, 10));
  assertEquals(order, []);
  a();
  (await b)();
  c();
  (await d)();
  assertEquals(order, ["t1-second", "t3"]);
  max = 1;
  const e = await slots.acquire("t1", signal);
  const cancel = new AbortController();
  const f = slots.acquire("t2", cancel.signal);
  cancel.abort(new Error("cancelled"));
  await assertRejects(() => f, Error, "cancelled");
  e();
});
