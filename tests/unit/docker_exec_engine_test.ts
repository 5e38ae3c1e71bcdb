/** engines/shared/docker_exec_engine.ts: the first installed tool, short stderr summaries. */
import { firstAvailable, stderrSummary } from "../../agent/engines/shared/docker_exec_engine.ts";
import { redisCliVersion } from "../../agent/engines/redis/docker_exec_redis.ts";
import { assert, assertEquals, assertThrows } from "../support/assert.ts";

Deno.test("firstAvailable runs the first installed program; stderr summaries stay short", async () => {
  const argv = firstAvailable(["no-such-tool-x", "echo"], ["hello", "$world"]);
  const out = await new Deno.Command(argv[0], { args: argv.slice(1) }).output();
  assertEquals(new TextDecoder().decode(out.stdout), "hello $world\n");
  const missing = firstAvailable(["no-such-tool-x"], []);
  const failed = await new Deno.Command(missing[0], { args: missing.slice(1) }).output();
  assertEquals(failed.code, 127);
  assert(new TextDecoder().decode(failed.stderr).includes("none of no-such-tool-x is installed"));
  assertThrows(() => firstAvailable(["rm -rf /"], []));
  assertEquals(stderrSummary("a\n\nb\nc\nd\n"), "b | c | d");
  assertEquals(redisCliVersion("redis-cli 7.0.15"), [7, 0]);
  assertEquals(redisCliVersion("garbage"), null);
});
