/** host/process_identity.ts: a label that tells, later, whether its process still runs. */
import { assert, assertEquals, assertMatch } from "../support/assert.ts";
import { hasEnded, ownIdentity } from "../../agent/host/process_identity.ts";

function own(): { host: string; boot: number } {
  const identity = ownIdentity();
  assert(identity !== undefined, "the system tells the host name and uptime");
  const [host, pid, boot] = identity.split("/");
  assertEquals(pid, String(Deno.pid));
  assertMatch(boot, /^\d+$/);
  return { host, boot: Number(boot) };
}

Deno.test("this process's identity names its host, pid and boot, and it has not ended", () => {
  const { host, boot } = own();
  assertEquals(hasEnded(`${host}/${Deno.pid}/${boot}`), false);
  // A boot time a few seconds off (the clock stepped) is still this boot.
  assertEquals(hasEnded(`${host}/${Deno.pid}/${boot + 5}`), false);
});

Deno.test("a process that exited, or one from before the machine booted, has ended", async () => {
  const { host, boot } = own();
  const child = new Deno.Command("true").spawn();
  await child.status;
  assertEquals(hasEnded(`${host}/${child.pid}/${boot}`), true);
  assertEquals(hasEnded(`${host}/${Deno.pid}/${boot - 86_400}`), true);
});

Deno.test("a process of another host (another container), or no identity at all, cannot be judged", () => {
  const { boot } = own();
  assertEquals(hasEnded(`another-host/${Deno.pid}/${boot}`), undefined);
  assertEquals(hasEnded("1234"), undefined);
  assertEquals(hasEnded(""), undefined);
});
