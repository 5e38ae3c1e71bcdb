/**
 * Benchmark: an idle agent, connected to a control plane with one job
 * configured, against the runtime floor measured in the same run
 * (tests/bench/idle_floor.ts under the same runtime and V8 flags). Prints
 * the agent's RSS and CPU over the idle window, the floor's RSS, and the
 * difference - the part of the idle RSS that is the agent's own.
 *
 *   BENCH_ONLY=idle BENCH_IDLE_S=60 deno task bench
 *
 * With BACKUPY_AGENT_BIN naming a compiled agent, the agent line is the
 * binary's; the floor is always `deno run`'s, which the line says.
 */
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { AgentProcess } from "../support/agent_process.ts";
import { sqliteConfig, TEST_AGENT_KEY } from "../support/agent_fixtures.ts";
import { ControlPlane } from "../support/control_plane.ts";
import { V8_FLAGS } from "../../scripts/program_flags.ts";
import { readProc } from "./measure.ts";

const IDLE_S = Number(Deno.env.get("BENCH_IDLE_S") ?? 60);
/** How long a process settles after start-up before it counts as idle. */
const SETTLE_MS = 5000;

function mib(kib: number): string {
  return (kib / 1024).toFixed(0);
}

async function clockTicks(): Promise<number> {
  const output = await new Deno.Command("getconf", { args: ["CLK_TCK"] }).output();
  return Number(new TextDecoder().decode(output.stdout)) || 100;
}

/** The agent's RSS after the idle window, and the CPU seconds it used in it. */
async function idleAgent(dir: string): Promise<{ rssKiB: number; cpuSeconds: number }> {
  const database = join(dir, "app.db");
  const db = new DatabaseSync(database);
  db.exec("CREATE TABLE t (a)");
  db.close();
  await using server = new ControlPlane({
    agentKey: TEST_AGENT_KEY,
    config: sqliteConfig(database),
    pingEveryMs: 10_000,
  });
  await using agent = AgentProcess.start(
    {
      BACKUPY_AGENT_KEY: TEST_AGENT_KEY,
      BACKUPY_SERVER_URL: server.url,
      BACKUPY_LOG_LEVEL: "info",
    },
    join(dir, "state"),
    {}, // the timing users run with, not the tests' faster one
  );
  await server.waitFor("handshake", () => server.payloads("heartbeat").length > 0);
  await new Promise((r) => setTimeout(r, SETTLE_MS));
  const before = readProc(agent.pid);
  await new Promise((r) => setTimeout(r, IDLE_S * 1000));
  const after = readProc(agent.pid);
  await agent.stop();
  return {
    rssKiB: after.rssKiB,
    cpuSeconds: (after.cpuTicks - before.cpuTicks) / await clockTicks(),
  };
}

/** The floor program's RSS once it has settled. */
async function floorRss(): Promise<number> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--quiet",
      V8_FLAGS,
      "--allow-all",
      new URL("./idle_floor.ts", import.meta.url).pathname,
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  try {
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let said = "";
    while (!said.includes("ready")) {
      const { value, done } = await reader.read();
      if (done) throw new Error("the idle floor program exited before it was ready");
      said += value;
    }
    reader.releaseLock();
    await new Promise((r) => setTimeout(r, SETTLE_MS));
    return readProc(child.pid).rssKiB;
  } finally {
    child.kill("SIGKILL");
    await child.status;
  }
}

const dir = await Deno.makeTempDir({ prefix: "backupy-idle-bench-" });
try {
  const floor = await floorRss();
  const agent = await idleAgent(dir);
  const binary = Deno.env.get("BACKUPY_AGENT_BIN");
  console.log(
    `idle agent over ${IDLE_S} s: RSS ${mib(agent.rssKiB)} MiB, CPU ${
      agent.cpuSeconds.toFixed(2)
    } s (${((100 * agent.cpuSeconds) / IDLE_S).toFixed(2)}% of one core)` +
      (binary ? ` [${binary}]` : " [deno run]"),
  );
  console.log(
    `runtime floor (deno run: protobuf, ws, prom-client, HTTP server, sqlite, crypto): RSS ${
      mib(floor)
    } MiB; the agent's own: ${mib(agent.rssKiB - floor)} MiB`,
  );
} finally {
  await Deno.remove(dir, { recursive: true });
}
