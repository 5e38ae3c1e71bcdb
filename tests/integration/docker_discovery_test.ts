/**
 * Docker discovery and docker hooks against the real Docker engine. Other
 * test files start containers at the same time, so each test labels its
 * own with a fresh group id and looks only at those.
 */
import { join } from "node:path";
import { DiscoveryLoop, type DiscoverySource } from "../../agent/docker/discovery_loop.ts";
import { discoveryReport } from "../../agent/docker/discovery_report.ts";
import { type DiscoveredDatabase, scanContainers } from "../../agent/docker/discovery_scan.ts";
import { DockerHost } from "../../agent/docker/docker_host.ts";
import { Logger } from "../../agent/log/logger.ts";
import { DEFAULT_HOOK_LIMITS, runHooks } from "../../agent/runs/hook_runner.ts";
import { makeSqliteDatabase, tempDir } from "../support/agent_fixtures.ts";
import { assert, assertEquals, assertMatch } from "../support/assert.ts";
import {
  docker,
  DOCKER_SOCKET,
  IMAGES,
  processesMatching,
  startContainer,
  type TestContainer,
} from "../support/docker_fixtures.ts";
import { waitUntil } from "../support/wait.ts";

const host = new DockerHost(DOCKER_SOCKET);
const SLEEP = ["sleep", "2147483647"];

/** The real engine, narrowed to containers labelled with `group`. */
function groupSource(group: string): DiscoverySource {
  return {
    socketPath: host.socketPath,
    async runningContainerIds() {
      const ids = [];
      for (const id of await host.runningContainerIds()) {
        const facts = await host.inspect(id);
        if (facts?.labels["backupy.test.group"] === group) ids.push(id);
      }
      return ids;
    },
    inspect: (id) => host.inspect(id),
    watchEvents: (actions, onEvent, signal) => host.watchEvents(actions, onEvent, signal),
  };
}

async function tagged(repo: string, tag: string): Promise<string> {
  await docker.getImage(IMAGES.base).tag({ repo, tag });
  return `${repo}:${tag}`;
}

Deno.test("discovery: every engine by image or label, hidden and exporter containers left out, SQLite in a volume", async () => {
  const group = crypto.randomUUID();
  const labels = { "backupy.test.group": group };
  await using volume = await tempDir("backupy-discovery-volume-");
  await Deno.chmod(volume.path, 0o755);
  await Deno.mkdir(join(volume.path, "nested"));
  makeSqliteDatabase(join(volume.path, "nested/app.db"), 3);
  await Deno.writeTextFile(join(volume.path, "fake.db"), "not a database");
  const password = `pw-${crypto.randomUUID()}`;
  const retagged = await tagged("registry.example.com:5000/acme/db", "backupy-test");
  const containers: TestContainer[] = [];
  const start = async (name: string, image: string, extra: Record<string, unknown> = {}) => {
    const c = await startContainer({ image, name, labels, cmd: SLEEP, ...extra });
    containers.push(c);
    return c;
  };
  try {
    const pg = await start("disc-pg", IMAGES.postgres, {
      env: { POSTGRES_USER: "app", POSTGRES_PASSWORD: password, UNRELATED: "x" },
    });
    await start("disc-maria", IMAGES.mariadb, { env: { MARIADB_ROOT_PASSWORD: password } });
    await start("disc-redis", IMAGES.redis);
    await start("disc-mongo", "mongo:backupy-test");
    await start("disc-retagged", retagged, { labels: { ...labels, "backupy.type": "postgresql" } });
    await start("disc-hidden", IMAGES.postgres, {
      labels: { ...labels, "backupy.enable": "false" },
    });
    await start("disc-exporter", "prometheuscommunity/postgres-exporter:backupy-test");
    await start("disc-commander", "rediscommander/redis-commander:backupy-test");
    await start("disc-files", IMAGES.base, { binds: { [volume.path]: "/srv/data" } });

    const found = await scanContainers(groupSource(group));
    const byPrefix = (prefix: string) => found.find((d) => d.name.startsWith(prefix));
    const summary = found.map((d) => `${d.name.replace(/-[0-9a-f]{8}$/, "")}=${d.type}`).sort();
    assertEquals(summary, [
      "disc-files=sqlite",
      "disc-maria=mariadb",
      "disc-mongo=mongodb",
      "disc-pg=postgresql",
      "disc-redis=redis",
      "disc-retagged=postgresql",
    ]);
    const pgFound = byPrefix("disc-pg")!;
    assertEquals(pgFound.containerId, pg.id);
    assertEquals(pgFound.image, IMAGES.postgres);
    assertEquals(pgFound.envHints, { POSTGRES_PASSWORD: "set", POSTGRES_USER: "set" });
    assertEquals(pgFound.ports, [{ containerPort: 5432, hostPort: 0, protocol: "tcp" }]);
    assertEquals(pgFound.networks, ["none"]);
    assertEquals(byPrefix("disc-files")!.sqliteFiles, ["/srv/data/nested/app.db"]);
    assertEquals(byPrefix("disc-maria")!.envHints, { MARIADB_ROOT_PASSWORD: "set" });

    const report = JSON.stringify(discoveryReport(found));
    assert(!report.includes(password), "an env value reached the report");
    assertMatch(report, /"detectedDbType":"postgresql"/);
  } finally {
    await Promise.all(containers.map((c) => c.remove()));
  }
});

Deno.test("discovery loop: events bring a new report within seconds; identical rescans send nothing", async () => {
  const group = crypto.randomUUID();
  const reports: DiscoveredDatabase[][] = [];
  const loop = new DiscoveryLoop({
    docker: groupSource(group),
    report: (found) => reports.push(found),
    log: Logger.create("error", () => {}),
    // No rescan during the test: only events can bring the second report.
    timing: { debounceMs: 200, rescanMs: 600_000, eventRetryMs: 500 },
  });
  let redis: TestContainer | undefined;
  try {
    loop.start();
    await waitUntil("the first report", () => reports[0], 15_000);
    assertEquals(reports[0], []);
    redis = await startContainer({
      image: IMAGES.redis,
      name: "loop-redis",
      labels: { "backupy.test.group": group },
      cmd: SLEEP,
    });
    const second = await waitUntil("a report after the start event", () => reports[1], 5000);
    assertEquals(second.map((d) => d.containerId), [redis.id]);
    for (let i = 0; i < 3; i++) {
      loop.scanSoon(0);
      await new Promise((r) => setTimeout(r, 300));
    }
    assertEquals(reports.length, 2, "rescans of an unchanged set sent a report");
    await redis.remove();
    const third = await waitUntil("a report after the destroy event", () => reports[2], 5000);
    assertEquals(third, []);
  } finally {
    await loop.stop();
    await redis?.remove();
  }
});

Deno.test("discovery loop: a missing Docker socket is logged once and nothing is reported", async () => {
  const lines: string[] = [];
  const reports: unknown[] = [];
  const loop = new DiscoveryLoop({
    docker: new DockerHost("/nonexistent/docker.sock"),
    report: (found) => reports.push(found),
    log: Logger.create("debug", (line) => lines.push(line)),
    timing: { debounceMs: 50, rescanMs: 100, eventRetryMs: 100 },
  });
  loop.start();
  await new Promise((r) => setTimeout(r, 1200));
  await loop.stop();
  const warnings = lines.filter((line) => line.includes("Docker is not reachable"));
  assertEquals(warnings.length, 1, lines.join("\n"));
  assertMatch(warnings[0], /nonexistent\/docker\.sock/);
  assertEquals(reports, []);
});

Deno.test("docker hooks run inside the container with the run's variables only, and time out there", async () => {
  await using box = await startContainer({ image: IMAGES.base, name: "hooks", cmd: SLEEP });
  const results: { code: number; stdoutTail: string; timedOut: boolean }[] = [];
  const options = {
    env: { BACKUPY_RUN_STATUS: "success", BACKUPY_RUN_ID: "r1", HOST_ONLY_SECRET: "hunter2-x" },
    signal: new AbortController().signal,
    limits: { ...DEFAULT_HOOK_LIMITS, perHookMs: 1500 },
    budget: { remainingMs: 60_000 },
    stopOnFailure: false,
    containers: host,
    onResult: (r: { code: number; stdoutTail: string; timedOut: boolean }) => results.push(r),
  };
  const failures = await runHooks([
    `docker:${box.name} echo "status=$BACKUPY_RUN_STATUS"; env > /tmp/hook-env; hostname`,
    `docker:${box.name} exit 3`,
    `docker:${box.name} sleep 600`,
    "docker:no-such-container-x true",
  ], options);
  assertEquals(results[0].code, 0);
  assertMatch(results[0].stdoutTail, /^status=success\n/);
  const env = await box.run(["cat", "/tmp/hook-env"]);
  assert(env.includes("BACKUPY_RUN_ID=r1"));
  assert(!env.includes("HOST_ONLY_SECRET"), "a host variable leaked into the container");
  assertEquals(results[1].code, 3);
  assert(results[2].timedOut, "the sleeping hook timed out");
  assertEquals(await processesMatching(box.id, "sleep 600"), [], "the hook's process is gone");
  assert(results[3].code !== 0);
  assertEquals(failures.length, 3);

  const noDocker = await runHooks([`docker:${box.name} true`], {
    ...options,
    containers: undefined,
  });
  assertEquals(noDocker[0].code, 127);
  assertMatch(noDocker[0].stderrTail, /Docker engine/);
});
