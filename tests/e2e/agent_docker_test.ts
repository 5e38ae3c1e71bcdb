/**
 * The agent with Docker, end to end (the real programs as child processes,
 * a real Docker engine): the service registers with the engine's version,
 * reports discovered containers, and backs up a DOCKER_EXEC target on
 * RunBackup; local mode backs up `docker://CONTAINER` and fails clearly for
 * an unknown, stopped or unrecognisable container.
 */
import { join } from "node:path";
import { create } from "@bufbuild/protobuf";
import {
  ConnectionStrategy,
  DbType,
  JobStatus,
  RetryPolicySchema,
} from "@backupy/gen/backup/v1/common_pb.ts";
import {
  AgentConfigSchema,
  BackupJobSpecSchema,
  ConnectionConfigSchema,
  TargetSchema,
} from "@backupy/gen/backup/v1/server_to_agent_pb.ts";
import { AgentProcess } from "../support/agent_process.ts";
import {
  makeSqliteDatabase,
  readItems,
  runBackupCommand,
  stateDirIn,
  tempDir,
  TEST_AGENT_KEY,
} from "../support/agent_fixtures.ts";
import { assert, assertEquals, assertMatch } from "../support/assert.ts";
import { ControlPlane } from "../support/control_plane.ts";
import { docker, DOCKER_SOCKET, IMAGES, startContainer } from "../support/docker_fixtures.ts";
import { runAgent, runDecrypt } from "../support/programs.ts";
import { S3Server } from "../support/s3_server.ts";
import { assertNoSecrets } from "../support/secret_scan.ts";
import { makeToken, sha256Hex, tokenClaims } from "../support/v1_fixtures.ts";

const FIXTURE = `CREATE TABLE notes (id serial PRIMARY KEY, body text NOT NULL);
INSERT INTO notes (body) SELECT 'note ' || g FROM generate_series(1, 1000) g;`;

async function pgRestoreList(file: string): Promise<string> {
  const out = await new Deno.Command("pg_restore", { args: ["--list", file] }).output();
  assert(out.success, new TextDecoder().decode(out.stderr));
  return new TextDecoder().decode(out.stdout);
}

Deno.test("service: Register has the Docker version, discovery reports containers, a DOCKER_EXEC run completes", async () => {
  const password = `pg-${crypto.randomUUID()}`;
  await using pg = await startContainer({
    image: IMAGES.postgres,
    name: "svc-pg",
    env: { POSTGRES_USER: "app", POSTGRES_PASSWORD: password, POSTGRES_DB: "notes" },
  });
  await pg.run(["psql", "-Xqc", FIXTURE], {
    PGPASSWORD: password,
    PGUSER: "app",
    PGDATABASE: "notes",
  });
  await using dir = await tempDir("backupy-agent-docker-");
  await using s3 = await S3Server.start();
  const config = create(AgentConfigSchema, {
    version: 1n,
    targets: [create(TargetSchema, {
      id: "t-pg",
      type: DbType.POSTGRESQL,
      displayName: "notes in docker",
      connection: create(ConnectionConfigSchema, {
        containerId: pg.name,
        strategy: ConnectionStrategy.DOCKER_EXEC,
      }),
    })],
    jobs: [create(BackupJobSpecSchema, {
      id: "job-docker",
      targetId: "t-pg",
      cron: "0 3 * * *",
      compression: "zstd",
      encryptionEnabled: true,
      preHooks: [`docker:${pg.name} pg_isready -q`],
      retry: create(RetryPolicySchema, { maxAttempts: 1 }),
    })],
  });
  await using server = new ControlPlane({ agentKey: TEST_AGENT_KEY, config });
  await using agent = AgentProcess.start({
    BACKUPY_AGENT_KEY: TEST_AGENT_KEY,
    BACKUPY_SERVER_URL: server.url,
    BACKUPY_DOCKER_SOCKET: DOCKER_SOCKET,
  }, stateDirIn(dir.path));

  const register = await server.waitFor("Register", () => server.payloads("register")[0]);
  assertMatch(register.dockerVersion, /^\d+\.\d+/);
  assert(register.capabilities.includes("docker_exec"));
  assert(register.capabilities.includes("docker_discovery"));

  const seen = await server.waitFor(
    "a DiscoveryReport with the container",
    () =>
      server.payloads("discovery").flatMap((r) => r.containers).find((c) =>
        c.containerId === pg.id
      ),
  );
  assertEquals(seen.name, pg.name);
  assertEquals(seen.detectedDbType, "postgresql");
  assertEquals({ ...seen.envHints }, {
    POSTGRES_DB: "set",
    POSTGRES_PASSWORD: "set",
    POSTGRES_USER: "set",
  });

  const dek = crypto.getRandomValues(new Uint8Array(32));
  const command = await runBackupCommand(s3, "run-docker-1", { jobId: "job-docker", dek });
  server.send({ case: "runBackup", value: command }, "corr-docker");
  const completed = await server.waitFor(
    "BackupCompleted",
    () => server.payloads("backupCompleted")[0],
    60_000,
  );
  assertMatch(completed.dbEngineVersion, /^PostgreSQL 15\.\d+$/);
  const object = await s3.get(completed.s3Key);
  assert(object !== null);
  assertEquals(sha256Hex(object), completed.sha256);

  const encrypted = join(dir.path, "notes.enc");
  await Deno.writeFile(encrypted, object);
  const restored = join(dir.path, "notes.pgdump");
  const token = makeToken(tokenClaims({
    run_id: "run-docker-1",
    dek: dek.toBase64(),
    sha256: completed.sha256,
  }));
  const decrypt = await runDecrypt(["--token", token, "--in", encrypted, "--out", restored]);
  assertEquals(decrypt.code, 0, decrypt.stderr);
  assertMatch(await pgRestoreList(restored), /TABLE DATA public notes app/);

  assertEquals((await agent.stop("SIGTERM")).code, 0);
  assertNoSecrets(agent.lines, [
    TEST_AGENT_KEY,
    password,
    dek.toHex(),
    command.uploadCreds!.presignedPutUrl,
  ]);
  assertNoSecrets(
    server.received.map((r) =>
      JSON.stringify(r.envelope, (_, v) => typeof v === "bigint" ? String(v) : v)
    ),
    [password],
  );
});

Deno.test("local mode: backup --target docker://CONTAINER, and clear errors for bad containers", async () => {
  const password = `pg-${crypto.randomUUID()}`;
  await using pg = await startContainer({
    image: IMAGES.postgres,
    name: "local-pg",
    env: { POSTGRES_USER: "app", POSTGRES_PASSWORD: password, POSTGRES_DB: "notes" },
  });
  await pg.run(["psql", "-Xqc", FIXTURE], {
    PGPASSWORD: password,
    PGUSER: "app",
    PGDATABASE: "notes",
  });
  await using dir = await tempDir("backupy-local-docker-");
  const env = { DOCKER_HOST: `unix://${DOCKER_SOCKET}` };

  const out = join(dir.path, "notes.enc");
  const key = join(dir.path, "notes.key");
  const backup = await runAgent(
    ["backup", "--target", `docker://${pg.name}`, "--out", out, "--generate-key", key],
    env,
  );
  assertEquals(backup.code, 0, backup.stderr);
  assertMatch(backup.stderr, /OK: backed up PostgreSQL 15\.\d+/);
  assert(!backup.stderr.includes(password));
  const sha = /sha256: +([0-9a-f]{64})/.exec(backup.stderr)![1];
  const restored = join(dir.path, "notes.pgdump");
  const decrypt = await runDecrypt([
    "--key-file",
    key,
    "--sha256",
    sha,
    "--in",
    out,
    "--out",
    restored,
  ]);
  assertEquals(decrypt.code, 0, decrypt.stderr);
  assertMatch(await pgRestoreList(restored), /TABLE DATA public notes app/);

  // The manifest was read from pg_dump's own archive as it went by: it verifies, and a
  // restore with pg_restore in a throwaway container gives the same rows.
  const manifest = await runAgent(
    ["verify", "--in", out, "--key-file", key, "--level", "manifest"],
    env,
  );
  assertEquals(manifest.code, 0, manifest.stderr);
  assertMatch(manifest.stderr, /manifest: 1 objects: row counts and digests equal/);
  assertMatch(manifest.stderr, /"public"."notes": 1000/);
  const inDocker = [...["verify", "--in", out, "--key-file", key, "--level", "restore"]];
  const restoredInDocker = await runAgent(
    [...inDocker, "--docker-image", IMAGES.postgres],
    { ...env, BACKUPY_DOCKER_SOCKET: DOCKER_SOCKET },
  );
  assertEquals(restoredInDocker.code, 0, restoredInDocker.stderr);
  assertMatch(restoredInDocker.stderr, /restore: restored in a container of postgres:backupy-test/);

  const failing = async (target: string, pattern: RegExp) => {
    const file = join(dir.path, `${crypto.randomUUID()}.enc`);
    const result = await runAgent(
      ["backup", "--target", target, "--out", file, "--generate-key", `${file}.key`],
      env,
    );
    assertEquals(result.code, 1, result.stderr);
    assertMatch(result.stderr, pattern);
    assert(!(await Deno.stat(file).catch(() => null)), "no partial output");
    assert(!(await Deno.stat(`${file}.key`).catch(() => null)), "no key left behind");
  };
  await failing("docker://no-such-container-x", /there is no container named no-such-container-x/);
  await using box = await startContainer({
    image: IMAGES.base,
    name: "plain",
    cmd: ["sleep", "600"],
  });
  await failing(`docker://${box.name}`, /cannot tell which database container .* runs/);
  await docker.getContainer(box.id).stop({ t: 0 });
  await failing(`docker://${box.name}`, /is not running/);
  const unreachable = await runAgent(
    [
      "backup",
      "--target",
      "docker://x",
      "--out",
      join(dir.path, "u.enc"),
      "--generate-key",
      join(dir.path, "u.key"),
    ],
    { DOCKER_HOST: "unix:///nonexistent/docker.sock" },
  );
  assertEquals(unreachable.code, 1);
  assertMatch(unreachable.stderr, /\/nonexistent\/docker\.sock/);
});

Deno.test("local mode: docker://CONTAINER of an application with one SQLite file backs up that file; several or none are named", async () => {
  await using dir = await tempDir("backupy-local-docker-sqlite-");
  const data = join(dir.path, "data");
  await Deno.mkdir(join(data, "nested"), { recursive: true });
  makeSqliteDatabase(join(data, "nested", "app.db"), 1500);
  // A decoy with a SQLite name that is not a SQLite database.
  await Deno.writeTextFile(join(data, "cache.db"), "not a database at all, just a cache file");
  await using app = await startContainer({
    image: IMAGES.base,
    name: "sqlite-app",
    cmd: ["sleep", "600"],
    labels: { "backupy.type": "sqlite" },
    binds: { [data]: "/srv/data" },
  });
  const env = { DOCKER_HOST: `unix://${DOCKER_SOCKET}` };
  const backupOf = async (name: string) => {
    const out = join(dir.path, `${name}.enc`);
    const result = await runAgent(
      ["backup", "--target", `docker://${app.name}`, "--out", out, "--generate-key", `${out}.key`],
      env,
    );
    return { result, out, key: `${out}.key` };
  };

  const one = await backupOf("one");
  assertEquals(one.result.code, 0, one.result.stderr);
  assertMatch(one.result.stderr, /OK: backed up SQLite/);
  const restored = join(dir.path, "restored.db");
  const decrypted = await runDecrypt(["--key-file", one.key, "--in", one.out, "--out", restored]);
  assertEquals(decrypted.code, 0, decrypted.stderr);
  assertEquals(readItems(restored), readItems(join(data, "nested", "app.db")));

  makeSqliteDatabase(join(data, "other.sqlite"), 10);
  const several = await backupOf("several");
  assertEquals(several.result.code, 1, several.result.stderr);
  assertMatch(
    several.result.stderr,
    /has 2 SQLite databases: \/srv\/data\/nested\/app\.db, \/srv\/data\/other\.sqlite; name one, as docker:\/\/sqlite-app-[0-9a-f]+\/srv\/data\/nested\/app\.db/,
  );
  assert(!(await Deno.stat(several.out).catch(() => null)), "no partial output");

  await Deno.remove(join(data, "other.sqlite"));
  await Deno.remove(join(data, "nested"), { recursive: true });
  const none = await backupOf("none");
  assertEquals(none.result.code, 1, none.result.stderr);
  assertMatch(none.result.stderr, /has no SQLite database in its volumes or bind mounts/);
});

Deno.test("discover: the table and --json show a container's type and env hint keys", async () => {
  const password = `pw-${crypto.randomUUID()}`;
  await using redis = await startContainer({
    image: IMAGES.redis,
    name: "discover-redis",
    env: { REDIS_PASSWORD: password },
    cmd: ["sleep", "600"],
  });
  const env = { DOCKER_HOST: `unix://${DOCKER_SOCKET}` };
  const table = await runAgent(["discover"], env);
  assertEquals(table.code, 0, table.stderr);
  const tableText = new TextDecoder().decode(table.stdout);
  const line = tableText.split("\n").find((l) => l.startsWith(redis.name));
  assert(line, tableText);
  assertMatch(line, /redis +redis:backupy-test +6379\/tcp +REDIS_PASSWORD/);
  const json = await runAgent(["discover", "--json"], env);
  assertEquals(json.code, 0, json.stderr);
  const jsonText = new TextDecoder().decode(json.stdout);
  const found = (JSON.parse(jsonText) as { name: string; envHints: Record<string, string> }[])
    .find((d) => d.name === redis.name);
  assertEquals(found?.envHints, { REDIS_PASSWORD: "set" });
  assert(!tableText.includes(password) && !jsonText.includes(password));

  const down = await runAgent(["discover"], { DOCKER_HOST: "unix:///nonexistent/docker.sock" });
  assertEquals(down.code, 1);
  assertMatch(down.stderr, /not reachable/);
});

Deno.test("BACKUPY_DISABLE_DISCOVERY: no Docker at all, and a DOCKER_EXEC run fails saying why", async () => {
  await using dir = await tempDir("backupy-agent-nodocker-");
  await using s3 = await S3Server.start();
  const config = create(AgentConfigSchema, {
    version: 1n,
    targets: [create(TargetSchema, {
      id: "t-pg",
      type: DbType.POSTGRESQL,
      connection: create(ConnectionConfigSchema, {
        containerId: "some-db",
        strategy: ConnectionStrategy.DOCKER_EXEC,
      }),
    })],
    jobs: [create(BackupJobSpecSchema, {
      id: "job-docker",
      targetId: "t-pg",
      compression: "zstd",
      encryptionEnabled: true,
      retry: create(RetryPolicySchema, { maxAttempts: 1 }),
    })],
  });
  await using server = new ControlPlane({ agentKey: TEST_AGENT_KEY, config });
  await using agent = AgentProcess.start({
    BACKUPY_AGENT_KEY: TEST_AGENT_KEY,
    BACKUPY_SERVER_URL: server.url,
    BACKUPY_DOCKER_SOCKET: DOCKER_SOCKET,
    BACKUPY_DISABLE_DISCOVERY: "true",
  }, stateDirIn(dir.path));
  const register = await server.waitFor("Register", () => server.payloads("register")[0]);
  assertEquals(register.dockerVersion, "");
  server.send({
    case: "runBackup",
    value: await runBackupCommand(s3, "run-nodocker", { jobId: "job-docker" }),
  }, "c1");
  const failed = await server.waitFor(
    "FAILED",
    () => server.payloads("jobUpdate").find((u) => u.status === JobStatus.FAILED),
  );
  assertMatch(failed.errorMessage, /DOCKER_EXEC.*BACKUPY_DISABLE_DISCOVERY/);
  assertEquals(server.payloads("discovery"), [], "no DiscoveryReport with discovery disabled");
  assertEquals((await agent.stop("SIGTERM")).code, 0);
});
