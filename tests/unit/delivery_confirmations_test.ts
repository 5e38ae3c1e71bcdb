/**
 * control/delivery_confirmations.ts: a written outbox message is confirmed
 * no sooner than its confirmation time, in write order, and only while the
 * connection is open; no timer is left behind (the test sanitizers fail a
 * test that leaks one).
 */
import { assert, assertEquals } from "../support/assert.ts";
import { waitUntil } from "../support/wait.ts";
import { DeliveryConfirmations } from "../../agent/control/delivery_confirmations.ts";

const CONFIRM_MS = 40;

Deno.test("delivery confirmations: each message after confirmMs, in write order", async () => {
  const confirmed: { seq: bigint; at: number }[] = [];
  const written = new Map<bigint, number>();
  const confirmations = new DeliveryConfirmations(
    CONFIRM_MS,
    () => true,
    (seq) => confirmed.push({ seq, at: Date.now() }),
  );
  for (const seq of [1n, 2n]) {
    written.set(seq, Date.now());
    confirmations.written(seq);
  }
  assertEquals(confirmations.waiting, 2);
  await new Promise((r) => setTimeout(r, CONFIRM_MS / 2));
  written.set(3n, Date.now());
  confirmations.written(3n);

  await waitUntil("three confirmations", () => confirmed.length === 3);
  assertEquals(confirmed.map((c) => c.seq), [1n, 2n, 3n]);
  for (const { seq, at } of confirmed) {
    assert(at - written.get(seq)! >= CONFIRM_MS, `seq ${seq} confirmed early`);
  }
  assertEquals(confirmations.waiting, 0);
  // Nothing waits, so no timer is armed: the test ends without stop().
});

Deno.test("delivery confirmations: nothing is confirmed once the connection is closed", async () => {
  let open = true;
  const confirmed: bigint[] = [];
  const confirmations = new DeliveryConfirmations(CONFIRM_MS, () => open, (s) => confirmed.push(s));
  confirmations.written(1n);
  await waitUntil("the first confirmation", () => confirmed.length === 1);
  confirmations.written(2n);
  open = false;
  await new Promise((r) => setTimeout(r, CONFIRM_MS * 3));
  assertEquals(confirmed, [1n]);
  assertEquals(confirmations.waiting, 1, "the unconfirmed message stays for the next connection");
});

Deno.test("delivery confirmations: stop() ends the wait for what is pending", async () => {
  const confirmed: bigint[] = [];
  const confirmations = new DeliveryConfirmations(CONFIRM_MS, () => true, (s) => confirmed.push(s));
  confirmations.written(7n);
  confirmations.stop();
  await new Promise((r) => setTimeout(r, CONFIRM_MS * 3));
  assertEquals(confirmed, []);
  assertEquals(confirmations.waiting, 1);
});
