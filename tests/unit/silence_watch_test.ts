/**
 * control/silence_watch.ts: the connection counts as dead once, only after
 * more than the limit without data; data keeps it alive; stopping ends the
 * watch (the test sanitizers fail a test that leaks its timer).
 */
import { assert, assertEquals } from "../support/assert.ts";
import { waitUntil } from "../support/wait.ts";
import { watchSilence } from "../../agent/control/silence_watch.ts";

const LIMIT_MS = 60;

Deno.test("silence watch: dead only after the limit without data, and only once", async () => {
  let lastDataAt = Date.now();
  // Each time it spoke: how long the server had then been silent.
  const silences: number[] = [];
  const stop = watchSilence(
    () => lastDataAt,
    LIMIT_MS,
    () => silences.push(Date.now() - lastDataAt),
  );
  try {
    // Data every 5 ms for 4 limits' worth of time. A machine too busy to
    // keep that pace may make a real silence; the watch may then speak, but
    // only for a silence over the limit.
    const until = Date.now() + LIMIT_MS * 4;
    while (Date.now() < until && silences.length === 0) {
      lastDataAt = Date.now();
      await new Promise((r) => setTimeout(r, 5));
    }
    await waitUntil("the silence to be noticed", () => silences.length === 1);
    await new Promise((r) => setTimeout(r, LIMIT_MS * 2));
    assertEquals(silences.length, 1, "declared dead more than once");
    assert(silences[0] > LIMIT_MS, `declared dead after ${silences[0]} ms of silence`);
  } finally {
    stop();
  }
});

Deno.test("silence watch: stopped, it says nothing", async () => {
  let said = false;
  const stop = watchSilence(() => Date.now() - LIMIT_MS * 10, LIMIT_MS, () => said = true);
  stop();
  await new Promise((r) => setTimeout(r, LIMIT_MS * 2));
  assertEquals(said, false);
});

Deno.test("silence watch: already past the limit, it says so at once", async () => {
  let said = 0;
  const stop = watchSilence(() => Date.now() - LIMIT_MS * 10, LIMIT_MS, () => said++);
  try {
    await waitUntil("the silence to be noticed", () => said === 1);
  } finally {
    stop();
  }
});
