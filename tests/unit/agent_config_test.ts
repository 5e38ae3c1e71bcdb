/** Configuration from the environment (docs/agent.md section 2). */
import { assertEquals, assertStringIncludes, assertThrows } from "../support/assert.ts";
import { loadAgentConfig } from "../../agent/config/agent_config.ts";
import { ConfigError } from "../../agent/config/config_error.ts";

const KEY = "bkpy_live_abcdefghijklmnopqrstuvwxyz012345";
const load = (
  vars: Record<string, string>,
  requireKey = true,
  files: Record<string, string> = {},
) =>
  loadAgentConfig((name) => vars[name], {
    requireKey,
    readFile: (path) => {
      if (!(path in files)) throw new Error("No such file");
      return files[path];
    },
  });

Deno.test("defaults", () => {
  const { config, warnings } = load({ BACKUPY_AGENT_KEY: KEY });
  assertEquals(config.serverUrl, "https://api.backupy.ru");
  assertEquals(config.stateDir, "/var/lib/backupy");
  assertEquals(config.logLevel, "info");
  assertEquals(config.dockerSocket, "/var/run/docker.sock");
  assertEquals(config.disableDiscovery, false);
  assertEquals(config.metricsListen, { hostname: "127.0.0.1", port: 9090 });
  assertEquals(config.maxParallelJobs, 2);
  assertEquals(config.agentKey?.reveal(), KEY);
  assertEquals(warnings, []);
});

Deno.test("old BACKUP_ names work with a deprecation warning", () => {
  const { config, warnings } = load({ BACKUP_AGENT_KEY: KEY, BACKUP_STATE_DIR: "/s" });
  assertEquals(config.stateDir, "/s");
  assertEquals(warnings, [
    "BACKUP_AGENT_KEY is deprecated: use BACKUPY_AGENT_KEY",
    "BACKUP_STATE_DIR is deprecated: use BACKUPY_STATE_DIR",
  ]);
});

Deno.test("the agent key from a file (Docker secrets), trimmed", () => {
  const { config } = load({ BACKUPY_AGENT_KEY_FILE: "/run/secrets/key" }, true, {
    "/run/secrets/key": `${KEY}\n`,
  });
  assertEquals(config.agentKey?.reveal(), KEY);
  assertThrows(
    () => load({ BACKUPY_AGENT_KEY: KEY, BACKUPY_AGENT_KEY_FILE: "/x" }),
    ConfigError,
    "set only one of them",
  );
});

Deno.test("a malformed key is named, never echoed", () => {
  const secretish = "bkpy_live_tooshort-but-very-secret";
  const error = assertThrows(
    () => load({ BACKUPY_AGENT_KEY: secretish }),
    ConfigError,
    "BACKUPY_AGENT_KEY: must be",
  );
  assertEquals(error.message.includes(secretish), false);
  assertEquals(load({ BACKUPY_AGENT_KEY: "a".repeat(64) }).config.agentKey?.reveal().length, 64);
  assertThrows(() => load({ BACKUPY_AGENT_KEY: "A".repeat(64) }), ConfigError);
});

Deno.test("the key is required for run only", () => {
  assertThrows(() => load({}), ConfigError, "BACKUPY_AGENT_KEY: required");
  assertEquals(load({}, false).config.agentKey, undefined);
});

Deno.test("bad values stop the agent with the variable and the rule", () => {
  const cases: Array<[Record<string, string>, string]> = [
    [{ BACKUPY_SERVER_URL: "http://localhost:8080" }, "needs BACKUPY_DEV_ALLOW_INSECURE=true"],
    [{ BACKUPY_SERVER_URL: "ftp://x" }, "scheme must be https or wss"],
    [{ BACKUPY_SERVER_URL: "https://u:p@x" }, "must not contain credentials"],
    [{ BACKUPY_LOG_LEVEL: "loud" }, "BACKUPY_LOG_LEVEL: must be one of"],
    [{ BACKUPY_MAX_PARALLEL_JOBS: "0" }, "BACKUPY_MAX_PARALLEL_JOBS: must be a whole number"],
    [{ BACKUPY_METRICS_LISTEN_ADDR: "9090" }, "BACKUPY_METRICS_LISTEN_ADDR: must be host:port"],
    [{ BACKUPY_DISABLE_DISCOVERY: "maybe" }, "BACKUPY_DISABLE_DISCOVERY: must be true or false"],
    [{ BACKUPY_VERIFY: "restore" }, "BACKUPY_VERIFY: must be structure or manifest"],
    [{ BACKUPY_VERIFY_RESTORE_CRON: "daily" }, "BACKUPY_VERIFY_RESTORE_CRON: a cron expression"],
    [{ BACKUPY_VERIFY_SCRATCH: "job-1" }, "BACKUPY_VERIFY_SCRATCH: entry 1 must be JOB_ID=URL"],
    [
      { BACKUPY_VERIFY_SCRATCH: "job-1=postgres://[not-a-host/" },
      "BACKUPY_VERIFY_SCRATCH: entry 1 must be JOB_ID=URL",
    ],
  ];
  for (const [vars, message] of cases) {
    assertThrows(() => load({ BACKUPY_AGENT_KEY: KEY, ...vars }, false), ConfigError, message);
  }
  assertThrows(
    () => load({ BACKUPY_AGENT_KEY_FILE: "/missing" }),
    ConfigError,
    "BACKUPY_AGENT_KEY_FILE: cannot read /missing",
  );
  const insecure = load({
    BACKUPY_AGENT_KEY: KEY,
    BACKUPY_SERVER_URL: "http://127.0.0.1:8080",
    BACKUPY_DEV_ALLOW_INSECURE: "true",
    BACKUPY_METRICS_LISTEN_ADDR: "",
  });
  assertEquals(insecure.config.metricsListen, undefined);
  assertStringIncludes(insecure.config.serverUrl, "http://");
});

Deno.test("verification settings: levels, cron, scratch servers (a bad one is named, never echoed)", () => {
  const { config } = load({
    BACKUPY_AGENT_KEY: KEY,
    BACKUPY_VERIFY: "Manifest",
    BACKUPY_VERIFY_RESTORE_CRON: "30 4 * * sun",
    BACKUPY_VERIFY_SCRATCH: "job-1=postgres://u:pw1@h/\n *=mysql://root:pw2@m:3306/",
  });
  assertEquals(config.verifyAfterBackup, "manifest");
  assertEquals(
    config.verifyRestoreCron?.next(new Date("2026-11-26T00:00:00Z"))?.toISOString(),
    "2026-11-29T04:30:00.000Z",
  );
  assertEquals(
    config.verifyScratch.map((s) => [s.job, s.url.reveal()]),
    [["job-1", "postgres://u:pw1@h/"], ["*", "mysql://root:pw2@m:3306/"]],
  );
  assertEquals(load({ BACKUPY_AGENT_KEY: KEY }).config.verifyAfterBackup, undefined);
  assertEquals(load({ BACKUPY_AGENT_KEY: KEY, BACKUPY_VERIFY: "off" }).config.verifyScratch, []);
  const error = assertThrows(
    () =>
      load({
        BACKUPY_AGENT_KEY: KEY,
        BACKUPY_VERIFY_SCRATCH: "a=postgres://u:pw1@h/ b=redis://:pw3@r/",
      }),
    ConfigError,
    "entry 2",
  );
  assertEquals(error.message.includes("pw3"), false);
  const fromFile = load(
    { BACKUPY_AGENT_KEY: KEY, BACKUPY_VERIFY_SCRATCH_FILE: "/run/secrets/scratch" },
    true,
    { "/run/secrets/scratch": "*=postgres://u:pw@h/\n" },
  );
  assertEquals(fromFile.config.verifyScratch.length, 1);
});
