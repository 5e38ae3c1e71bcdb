/** Hooks: process groups, timeouts, output tails, limits, environment. */
import {
  assert,
  assertEquals,
  assertRejects,
  assertStringIncludes,
  assertThrows,
} from "../support/assert.ts";
import {
  HookError,
  parseDockerHook,
  runHook,
  runHooks,
  validateHooks,
} from "../../agent/runs/hook_runner.ts";
import { TailBuffer } from "../../agent/bytes/tail_buffer.ts";
import { hookEnvironment } from "../../agent/hook_environment.ts";

const limits = { perHookMs: 5000, perRunMs: 10_000 };
const never = new AbortController().signal;

async function alive(pattern: string): Promise<boolean> {
  const out = await new Deno.Command("pgrep", { args: ["-f", pattern] }).output();
  return new TextDecoder().decode(out.stdout).trim() !== "";
}

Deno.test("a hook's output is kept as its last 8 KiB", async () => {
  const result = await runHook(
    "head -c 20000 /dev/zero | tr '\\\\0' a; echo; echo err >&2; exit 4",
    {},
    5000,
    never,
  );
  assertEquals(result.code, 4);
  assertEquals(result.stdoutTail.length, 8192);
  assertEquals(result.stderrTail, "err\n");
});

Deno.test("a timeout kills the hook's whole process group", async () => {
  const marker = `${Date.now() % 100000}`;
  const result = await runHook(`sleep 7${marker} & sleep 8${marker}; echo never`, {}, 300, never);
  assertEquals(result.timedOut, true);
  assert(result.durationMs < 3000);
  await new Promise((r) => setTimeout(r, 100));
  assertEquals(await alive(`sleep [78]${marker}`), false, "children of the hook are gone too");
});

Deno.test("an abort kills the hook", async () => {
  const controller = new AbortController();
  setTimeout(() => controller.abort(), 200);
  const result = await runHook("sleep 20", {}, 5000, controller.signal);
  assert(result.code !== 0);
  assert(result.durationMs < 3000);
});

Deno.test("hooks get exactly the environment given (the agent key is filtered out)", async () => {
  const env = hookEnvironment({
    PATH: Deno.env.get("PATH")!,
    BACKUPY_AGENT_KEY: "secret-key",
    HOME: "/root",
  });
  assertEquals(env.BACKUPY_AGENT_KEY, undefined);
  const result = await runHook("env", { ...env, EXTRA: "1" }, 5000, never);
  assertStringIncludes(result.stdoutTail, "EXTRA=1");
  assert(!result.stdoutTail.includes("secret-key"));
  assert(!result.stdoutTail.includes("BACKUPY_AGENT_KEY"));
});

Deno.test("pre-hooks stop at the first failure with its stderr; post-hooks all run", async () => {
  const error = await assertRejects(
    () =>
      runHooks(["true", "echo broken >&2; exit 2", "touch /tmp/should-not-run"], {
        env: {},
        signal: never,
        limits,
        budget: { remainingMs: 10_000 },
        stopOnFailure: true,
      }),
    HookError,
    "hook 2 exited with 2: broken",
  );
  void error;
  const failures = await runHooks(["exit 1", "exit 0", "exit 3"], {
    env: {},
    signal: never,
    limits,
    budget: { remainingMs: 10_000 },
    stopOnFailure: false,
  });
  assertEquals(failures.map((f) => f.code), [1, 3]);
});

Deno.test("the per-run hook budget is shared by all hooks", async () => {
  await assertRejects(
    () =>
      runHooks(["sleep 0.3", "sleep 0.3"], {
        env: {},
        signal: never,
        limits: { perHookMs: 5000, perRunMs: 0 },
        budget: { remainingMs: 0 },
        stopOnFailure: true,
      }),
    HookError,
    "hook budget is used up",
  );
});

Deno.test("more than 16 hooks or a hook over 4 KiB is refused", () => {
  assertThrows(
    () => validateHooks(Array(10).fill("true"), Array(7).fill("true")),
    HookError,
    "at most 16",
  );
  assertThrows(() => validateHooks(["x".repeat(4097)], []), HookError, "at most 4096");
  validateHooks(Array(16).fill("true"), []);
});

Deno.test("TailBuffer keeps the end across many pushes", () => {
  const tail = new TailBuffer(10);
  for (const part of ["abc", "defgh", "ijklmnop", "q"]) tail.push(new TextEncoder().encode(part));
  assertEquals(tail.text(), "hijklmnopq");
});

Deno.test("docker hooks: docker:CONTAINER <command>", () => {
  assertEquals(parseDockerHook("docker:db pg_isready -q"), {
    container: "db",
    command: "pg_isready -q",
  });
  assertEquals(parseDockerHook("  docker:my_app.1 sh -c 'x'\n"), {
    container: "my_app.1",
    command: "sh -c 'x'",
  });
  assertEquals(parseDockerHook("echo docker:db"), null);
  assertEquals(parseDockerHook("docker:db"), null);
  assertEquals(parseDockerHook("docker ps"), null);
});
