/**
 * backupy-agent's other commands as a user runs them: local-mode backup
 * (restored with backupy-decrypt), version, health-check, dump-state, and
 * usage errors.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "../support/assert.ts";
import { join } from "node:path";
import { AgentProcess } from "../support/agent_process.ts";
import {
  makeSqliteDatabase,
  readItems,
  runBackupCommand,
  sqliteConfig,
  stateDirIn,
  tempDir,
  TEST_AGENT_KEY,
} from "../support/agent_fixtures.ts";
import { ControlPlane } from "../support/control_plane.ts";
import { agentArgv, runAgent, runDecrypt } from "../support/programs.ts";
import { assertNoSecrets } from "../support/secret_scan.ts";
import { UploadEndpoint } from "../support/upload_endpoint.ts";
import { readManifest, writeManifest } from "../../agent/manifest/backup_manifest.ts";
import { dekFromKeyFile, importDek } from "../../decrypt/dek.ts";

/** `backupy-agent backup` of the SQLite file `database` to `out`, with `args` (the key flags, ...). */
function backupSqlite(
  database: string,
  out: string,
  args: string[],
  env: Record<string, string> = {},
) {
  return runAgent(["backup", "--target", `sqlite://${database}`, "--out", out, ...args], env);
}

/** `backupy-agent verify --in IN --key-file KEY` with `args` (the level, ...). */
function verifyWithKey(
  input: string,
  key: string,
  args: string[] = [],
  env: Record<string, string> = {},
) {
  return runAgent(["verify", "--in", input, "--key-file", key, ...args], env);
}

Deno.test("local backup with --generate-key, restored by the printed backupy-decrypt command", async () => {
  await using dir = await tempDir("backupy-local-");
  const database = join(dir.path, "app.db");
  makeSqliteDatabase(database, 3000);
  const out = join(dir.path, "app.enc");
  const key = join(dir.path, "app.key");
  for (const compression of ["zstd", "gzip", "none"]) {
    await Deno.remove(out).catch(() => {});
    await Deno.remove(key).catch(() => {});
    const result = await backupSqlite(database, out, [
      "--generate-key",
      key,
      "--compression",
      compression,
    ]);
    assertEquals(result.code, 0, result.stderr);
    assertMatch(await Deno.readTextFile(key), /^[0-9a-f]{64}\n$/);
    assertEquals((await Deno.stat(key)).mode! & 0o777, 0o600);
    const restore = /restore: (backupy-decrypt .*)$/m.exec(result.stderr)![1];
    const args = restore.split(" ").slice(1).map((a) =>
      a === "RESTORED_FILE" ? join(dir.path, `r-${compression}.db`) : a
    );
    if (compression === "none") args.push("--skip-decompress");
    const decrypted = await runDecrypt(args);
    assertEquals(decrypted.code, 0, decrypted.stderr);
    assertEquals(readItems(join(dir.path, `r-${compression}.db`)), readItems(database));
    assertStringIncludes(result.stderr, "SQLite 3.");
  }
  // Nothing but the database, key, output and restores: no temporary files left.
  const names = [...Deno.readDirSync(dir.path)].map((e) => e.name).sort();
  assert(names.every((n) => !n.startsWith(".")), names.join());
});

Deno.test("local backup: --key-file, --out -, refusing to overwrite a key, and failures leave nothing", async () => {
  await using dir = await tempDir("backupy-local-");
  const database = join(dir.path, "app.db");
  makeSqliteDatabase(database, 100);
  const key = join(dir.path, "k.hex");
  await Deno.writeTextFile(key, crypto.getRandomValues(new Uint8Array(32)).toHex());
  const [command, argv] = agentArgv([
    "backup",
    "--target",
    `sqlite://${database}`,
    "--out",
    "-",
    "--key-file",
    key,
  ]);
  const piped = await new Deno.Command(command, { args: argv, stdout: "piped", stderr: "piped" })
    .output();
  assertEquals(piped.code, 0, new TextDecoder().decode(piped.stderr));
  assert(piped.stdout.length > 100);
  assertEquals(
    piped.stdout.subarray(piped.stdout.length - 4),
    new Uint8Array(4),
    "ends with the terminator",
  );

  const exists = await backupSqlite(database, join(dir.path, "x"), ["--generate-key", key]);
  assertEquals(exists.code, 1);
  assertStringIncludes(exists.stderr, "refusing to overwrite a key");

  const missing = await backupSqlite(join(dir.path, "missing.db"), join(dir.path, "never.enc"), [
    "--generate-key",
    join(dir.path, "never.key"),
  ]);
  assertEquals(missing.code, 1);
  assertStringIncludes(missing.stderr, "cannot read the SQLite database");
  const names = [...Deno.readDirSync(dir.path)].map((e) => e.name).sort();
  assertEquals(
    names,
    ["app.db", "app.db-shm", "app.db-wal", "k.hex"].filter((n) => names.includes(n)),
  );
  assert(!names.includes("never.enc") && !names.includes("never.key"));
});

Deno.test("usage errors exit 2 with the usage; version prints the build", async () => {
  for (
    const args of [["bogus"], ["backup", "--nope"], ["backup", "--target", "sqlite:///x.db"], [
      "backup",
      "--target",
      "x",
      "--out",
      "o",
      "--compression",
      "lz4",
    ]]
  ) {
    const result = await runAgent(args);
    assertEquals(result.code, 2, `${args.join(" ")}: ${result.stderr}`);
    assertStringIncludes(result.stderr, "Usage: backupy-agent");
  }
  const version = await runAgent(["version"]);
  assertEquals(version.code, 0);
  assertMatch(
    new TextDecoder().decode(version.stdout),
    /^backupy-agent \d+\.\d+\.\d+ \(commit \S+, deno 2\.9\.\d+, \S+-linux-gnu\)/,
  );
  const help = await runAgent(["backup", "--help"]);
  assertEquals(help.code, 0);
  for (
    const [flag, takers] of [
      ["--clean", "PostgreSQL"],
      ["--no-single-transaction", "PostgreSQL"],
      ["--replace", "Redis"],
    ]
  ) {
    const other = await runAgent([
      "restore",
      "--target",
      "sqlite:///tmp/backupy-never-restored.db",
      "--in",
      "x.enc",
      "--key-file",
      "x.key",
      flag,
    ]);
    assertEquals(other.code, 2, `${flag}: ${other.stderr}`);
    assertStringIncludes(other.stderr, `${flag} applies to ${takers} targets only`);
  }
});

Deno.test("a bad configuration stops run with one line that never echoes the key", async () => {
  const bad = "bkpy_live_short_secret_value";
  const result = await runAgent(["run"], {
    BACKUPY_AGENT_KEY: bad,
    BACKUPY_STATE_DIR: "/tmp/never-used-x",
  });
  assertEquals(result.code, 1);
  assertStringIncludes(result.stderr, "BACKUPY_AGENT_KEY: must be");
  assert(!result.stderr.includes(bad));
  assertEquals(result.stderr.trim().split("\n").length, 1);
});

Deno.test("health-check, dump-state and a changed agent key, around a running agent", async () => {
  await using dir = await tempDir("backupy-cmds-");
  const database = join(dir.path, "app.db");
  makeSqliteDatabase(database, 10);
  const state = stateDirIn(dir.path);
  await using server = new ControlPlane({
    agentKey: TEST_AGENT_KEY,
    config: sqliteConfig(database),
    heartbeatIntervalSec: 1,
    pingEveryMs: 300,
  });
  const env = {
    BACKUPY_AGENT_KEY: TEST_AGENT_KEY,
    BACKUPY_SERVER_URL: server.url,
    BACKUPY_STATE_DIR: state,
    BACKUPY_DEV_ALLOW_INSECURE: "true",
  };
  const unhealthy = await runAgent(["health-check"], env);
  assertEquals(unhealthy.code, 1, "no agent ran here yet");

  const agent = AgentProcess.start(env, state);
  await server.waitFor("heartbeat", () => server.payloads("heartbeat").length > 0);
  const healthy = await runAgent(["health-check"], env);
  assertEquals(healthy.code, 0, healthy.stderr);

  // A run whose request (DEK, presigned URL) is sealed in the state store.
  await using endpoint = new UploadEndpoint([{ status: 200 }]);
  const dek = crypto.getRandomValues(new Uint8Array(32));
  const command = await runBackupCommand(null, "run-state", { url: endpoint.url("s"), dek });
  server.send({ case: "runBackup", value: command });
  await server.waitFor("completed", () => server.payloads("backupCompleted").length > 0, 60_000);

  const dump = await runAgent(["dump-state"], env);
  assertEquals(dump.code, 0, dump.stderr);
  const text = new TextDecoder().decode(dump.stdout);
  const parsed = JSON.parse(text);
  assertMatch(parsed.sealed.config, /^<sealed \d+ bytes>$/);
  assertMatch(parsed.runs[0].request, /^<sealed \d+ bytes>$/);
  assertNoSecrets([text], [
    TEST_AGENT_KEY,
    dek.toHex(),
    dek.toBase64(),
    command.uploadCreds!.presignedPutUrl,
  ]);
  const secrets = await runAgent(["dump-state", "--allow-secrets"], env);
  assertEquals(secrets.code, 0, secrets.stderr);
  assertStringIncludes(new TextDecoder().decode(secrets.stdout), "run-state");
  assertEquals(JSON.parse(new TextDecoder().decode(secrets.stdout)).sealed.config.version, "1");

  const status = await agent.stop("SIGTERM");
  assertEquals(status.code, 0);
  assertNoSecrets(agent.lines, [
    TEST_AGENT_KEY,
    dek.toHex(),
    dek.toBase64(),
    command.uploadCreds!.presignedPutUrl,
  ]);

  // Another key: the state is set aside, renamed not deleted; the agent starts fresh.
  const otherKey = "bkpy_test_OtherKeyOtherKeyOtherKeyOther123";
  await using server2 = new ControlPlane({ agentKey: otherKey, config: sqliteConfig(database) });
  await using second = AgentProcess.start({
    ...env,
    BACKUPY_AGENT_KEY: otherKey,
    BACKUPY_SERVER_URL: server2.url,
  }, state);
  const register = await server2.waitFor("register", () => server2.payloads("register")[0]);
  assertEquals(register.lastKnownConfigVersion, 0n);
  assert(second.lines.some((l) => l.includes("sealed with another agent key")));
  assert([...Deno.readDirSync(state)].some((e) => e.name.startsWith("state.db.unreadable-")));
});

Deno.test("restore: a SQLite backup into a new path; never over an existing file; a wrong key touches nothing", async () => {
  await using dir = await tempDir("backupy-restore-");
  const database = join(dir.path, "app.db");
  makeSqliteDatabase(database, 500);
  const out = join(dir.path, "app.enc");
  const key = join(dir.path, "app.key");
  const backup = await backupSqlite(database, out, ["--generate-key", key]);
  assertEquals(backup.code, 0, backup.stderr);
  const sha = /sha256:\s+([0-9a-f]{64})/.exec(backup.stderr)![1];
  const restored = join(dir.path, "restored.db");
  const result = await runAgent([
    "restore",
    "--target",
    `sqlite://${restored}`,
    "--in",
    out,
    "--key-file",
    key,
    "--sha256",
    sha,
  ]);
  assertEquals(result.code, 0, result.stderr);
  assertEquals(readItems(restored), readItems(database));

  const again = await runAgent([
    "restore",
    "--target",
    `sqlite://${restored}`,
    "--in",
    out,
    "--key-file",
    key,
    "--sha256",
    sha,
  ]);
  assertEquals(again.code, 1);
  assertStringIncludes(again.stderr, "exists: restore into a new path");

  const wrongKey = join(dir.path, "wrong.key");
  await Deno.writeTextFile(wrongKey, "11".repeat(32));
  const elsewhere = join(dir.path, "elsewhere.db");
  const wrong = await runAgent([
    "restore",
    "--target",
    `sqlite://${elsewhere}`,
    "--in",
    out,
    "--key-file",
    wrongKey,
  ]);
  assertEquals(wrong.code, 1);
  assertStringIncludes(wrong.stderr, "AES-GCM authentication failed in frame 0");
  assert(
    ![...Deno.readDirSync(dir.path)].some((e) => e.name.includes("elsewhere")),
    "nothing written",
  );
});

Deno.test("restore shows its passes and progress on a terminal only", async () => {
  await using dir = await tempDir("backupy-restore-tty-");
  const database = join(dir.path, "app.db");
  makeSqliteDatabase(database, 20_000);
  const out = join(dir.path, "app.enc");
  const key = join(dir.path, "app.key");
  const backup = await backupSqlite(database, out, ["--generate-key", key]);
  assertEquals(backup.code, 0, backup.stderr);
  const args = (
    target: string,
  ) => ["restore", "--target", `sqlite://${target}`, "--in", out, "--key-file", key];
  const piped = await runAgent(args(join(dir.path, "piped.db")));
  assertEquals(piped.code, 0, piped.stderr);
  assert(
    !piped.stderr.includes("verifying the backup"),
    "no progress when stderr is not a terminal",
  );

  const [command, argv] = agentArgv(args(join(dir.path, "tty.db")));
  const quoted = [command, ...argv].map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(" ");
  const screen = await new Deno.Command("script", {
    args: ["-qefc", quoted, "/dev/null"],
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  const text = new TextDecoder().decode(screen.stdout);
  assertEquals(screen.code, 0, text);
  assertStringIncludes(text, "verifying the backup...");
  assertStringIncludes(text, "restoring...");
  assertStringIncludes(text, "OK: restored");
});

/** Runs the agent under `script`, so its stderr is a terminal; returns what the terminal showed. */
async function onTerminal(args: string[]): Promise<{ code: number; text: string }> {
  const [command, argv] = agentArgv(args);
  const quoted = [command, ...argv].map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(" ");
  const screen = await new Deno.Command("script", {
    args: ["-qefc", quoted, "/dev/null"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: screen.code, text: new TextDecoder().decode(screen.stdout) };
}

Deno.test("backup and restore: --json gives one result object, --quiet says nothing, a terminal gets a meter", async () => {
  await using dir = await tempDir("backupy-local-json-");
  const database = join(dir.path, "app.db");
  makeSqliteDatabase(database, 20_000);
  const out = join(dir.path, "app.enc");
  const key = join(dir.path, "app.key");

  const json = await backupSqlite(database, out, ["--generate-key", key, "--json"]);
  assertEquals(json.code, 0, json.stderr);
  assertEquals(json.stderr, "", "nothing but the JSON");
  const result = JSON.parse(new TextDecoder().decode(json.stdout));
  assertEquals(result.ok, true);
  assertEquals(result.out, out);
  assertEquals(result.size_bytes, (await Deno.stat(out)).size);
  assertMatch(result.sha256, /^[0-9a-f]{64}$/);
  assertMatch(result.engine_version, /^SQLite \d/);
  assert(result.duration_ms > 0 && result.dumped_bytes > 0);
  assertEquals(result.key_file, key);

  const quiet = await backupSqlite(database, join(dir.path, "quiet.enc"), [
    "--key-file",
    key,
    "-q",
  ]);
  assertEquals([quiet.code, quiet.stderr, quiet.stdout.length], [0, "", 0]);

  const failed = await backupSqlite(join(dir.path, "missing.db"), join(dir.path, "x.enc"), [
    "--key-file",
    key,
    "--json",
  ]);
  assertEquals(failed.code, 1);
  const failure = JSON.parse(new TextDecoder().decode(failed.stdout));
  assertEquals(failure.ok, false);
  assertStringIncludes(failure.error, "missing.db");
  const usage = await backupSqlite(database, "-", ["--key-file", key, "--json"]);
  assertEquals(usage.code, 2);

  const restored = join(dir.path, "restored.db");
  const restore = await runAgent([
    "restore",
    "--target",
    `sqlite://${restored}`,
    "--in",
    out,
    "--key-file",
    key,
    "--sha256",
    result.sha256,
    "--json",
  ]);
  assertEquals(restore.code, 0, restore.stderr);
  const restoreResult = JSON.parse(new TextDecoder().decode(restore.stdout));
  assertEquals([restoreResult.ok, restoreResult.unit], [true, "bytes"]);
  assertEquals(readItems(restored), readItems(database));

  const tty = await onTerminal([
    "backup",
    "--target",
    `sqlite://${database}`,
    "--out",
    join(dir.path, "tty.enc"),
    "--key-file",
    key,
  ]);
  assertEquals(tty.code, 0, tty.text);
  assertMatch(tty.text, /MiB.*MB\/s.*elapsed \d+:\d\d:\d\d/);
  assertStringIncludes(tty.text, "OK: backed up SQLite");
  const ttyQuiet = await onTerminal([
    "backup",
    "--target",
    `sqlite://${database}`,
    "--out",
    join(dir.path, "tty-quiet.enc"),
    "--key-file",
    key,
    "--quiet",
  ]);
  assertEquals([ttyQuiet.code, ttyQuiet.text.trim()], [0, ""]);
});

Deno.test("verify: exit 0 when the structure is proved, 1 when not, 2 for usage errors; --json", async () => {
  await using dir = await tempDir("backupy-verify-cli-");
  const database = join(dir.path, "app.db");
  makeSqliteDatabase(database, 2000);
  const out = join(dir.path, "app.enc");
  const key = join(dir.path, "app.key");
  const backup = await backupSqlite(database, out, ["--generate-key", key, "--json"]);
  assertEquals(backup.code, 0, backup.stderr);
  const { sha256 } = JSON.parse(new TextDecoder().decode(backup.stdout));

  const ok = await verifyWithKey(out, key, ["--sha256", sha256]);
  assertEquals(ok.code, 0, ok.stderr);
  assertStringIncludes(ok.stderr, "OK: ");
  assertStringIncludes(ok.stderr, "level structure proved (SQLite database file)");
  assertStringIncludes(ok.stderr, "items: 2000");

  const json = await verifyWithKey(out, key, ["--sha256", sha256, "--json"]);
  const report = JSON.parse(new TextDecoder().decode(json.stdout));
  assertEquals([json.code, report.ok, report.level], [0, true, "structure"]);
  assertEquals(report.checks.map((c: { name: string }) => c.name), [
    "frames",
    "compression",
    "sha256",
    "dump",
  ]);

  assertStringIncludes(ok.stderr, `ok   sha256: ${sha256} matches --sha256`);

  // The command a user runs next: the manifest beside the backup gives the SHA-256.
  const besides = await verifyWithKey(out, key, []);
  assertEquals(besides.code, 0, besides.stderr);
  assertStringIncludes(
    besides.stderr,
    `ok   sha256: ${sha256} matches the manifest ${out}.manifest`,
  );
  const besidesJson = await verifyWithKey(out, key, ["--json"]);
  assertEquals(besidesJson.code, 0, besidesJson.stderr);
  assertEquals(JSON.parse(new TextDecoder().decode(besidesJson.stdout)).ok, true);

  // A manifest that is not this backup's (another key) is no SHA-256 to trust: the check says why.
  const manifestCopy = await Deno.readFile(`${out}.manifest`);
  await Deno.writeFile(`${out}.manifest`, manifestCopy.map((b, i) => (i === 40 ? b ^ 1 : b)));
  const badManifest = await verifyWithKey(out, key, []);
  assertEquals(badManifest.code, 1);
  assertMatch(
    badManifest.stderr,
    /FAIL sha256: no SHA-256 to compare with .*the manifest could not be read/,
  );
  await Deno.remove(`${out}.manifest`);
  const noSha = await verifyWithKey(out, key, []);
  assertEquals(noSha.code, 1);
  assertStringIncludes(noSha.stderr, "FAIL sha256: no SHA-256 to compare with");
  assertStringIncludes(noSha.stderr, "the manifest written beside the backup");
  assertEquals(
    (await verifyWithKey(out, key, ["--level", "bogus"])).code,
    2,
  );
  assertEquals((await runAgent(["verify", "--in", out])).code, 2);
});

Deno.test("verify --level manifest: the backup's own manifest agrees; fewer rows or a wrong count are named", async () => {
  await using dir = await tempDir("backupy-verify-manifest-");
  const database = join(dir.path, "app.db");
  makeSqliteDatabase(database, 3000);
  const out = join(dir.path, "app.enc");
  const key = join(dir.path, "app.key");
  const backup = await backupSqlite(database, out, ["--generate-key", key, "--json"]);
  assertEquals(backup.code, 0, backup.stderr);
  const result = JSON.parse(new TextDecoder().decode(backup.stdout));
  assertEquals(result.manifest, `${out}.manifest`);

  // --no-manifest: the backup alone.
  const bare = join(dir.path, "bare.enc");
  const withoutManifest = await backupSqlite(database, bare, ["--key-file", key, "--no-manifest"]);
  assertEquals(withoutManifest.code, 0, withoutManifest.stderr);
  assertEquals(await Deno.stat(`${bare}.manifest`).then(() => true, () => false), false);

  // No --sha256 needed: the manifest names the backup it belongs to.
  const ok = await verifyWithKey(out, key, ["--level", "manifest", "--json"]);
  assertEquals(ok.code, 0, ok.stderr);
  const report = JSON.parse(new TextDecoder().decode(ok.stdout));
  assertEquals(report.level, "manifest");
  assertEquals(report.objects.map((o: { name: string; rows: number }) => [o.name, o.rows]), [[
    "items",
    3000,
  ]]);

  // A backup of the same database with one row fewer, checked against the first manifest.
  const { DatabaseSync } = await import("node:sqlite");
  const db = new DatabaseSync(database);
  db.exec("DELETE FROM items WHERE id = 1234");
  db.close();
  const second = join(dir.path, "second.enc");
  assertEquals(
    (await backupSqlite(database, second, ["--key-file", key])).code,
    0,
  );
  const fewer = await verifyWithKey(second, key, [
    "--level",
    "manifest",
    "--manifest",
    `${out}.manifest`,
  ]);
  assertEquals(fewer.code, 1);
  assertStringIncludes(fewer.stderr, "items: 3000 rows in the manifest, 2999 in the dump");
  assertStringIncludes(fewer.stderr, "the manifest belongs to the backup with SHA-256");

  // Same row count, one row changed: the digest tells.
  const db2 = new DatabaseSync(database);
  db2.exec("INSERT INTO items (id, name, blob) VALUES (1234, 'changed', x'00')");
  db2.close();
  const third = join(dir.path, "third.enc");
  assertEquals(
    (await backupSqlite(database, third, ["--key-file", key])).code,
    0,
  );
  const changed = await verifyWithKey(third, key, [
    "--level",
    "manifest",
    "--manifest",
    `${out}.manifest`,
  ]);
  assertEquals(changed.code, 1);
  assertMatch(
    changed.stderr,
    /items: the rows differ \(digest [0-9a-f]{16} in the manifest, [0-9a-f]{16} in the dump\)/,
  );

  // A manifest with a wrong count (written with the same key) is caught too.
  const dek = await importDek(dekFromKeyFile(await Deno.readFile(key)));
  const original = await readManifest(`${out}.manifest`, dek);
  const tampered = join(dir.path, "tampered.manifest");
  await writeManifest(tampered, {
    ...original,
    objects: original.objects.map((o) => ({ ...o, rows: o.rows + 1 })),
  }, dek);
  const wrongCount = await verifyWithKey(out, key, ["--level", "manifest", "--manifest", tampered]);
  assertEquals(wrongCount.code, 1);
  assertStringIncludes(wrongCount.stderr, "items: 3001 rows in the manifest, 3000 in the dump");

  const missing = await verifyWithKey(out, key, [
    "--level",
    "manifest",
    "--manifest",
    join(dir.path, "none"),
  ]);
  assertEquals(missing.code, 1);
  assertStringIncludes(missing.stderr, "cannot open the manifest");
});

Deno.test("dump-state and manifest on a directory with no agent state: a clear error, nothing created", async () => {
  await using dir = await tempDir("backupy-no-state-");
  const env = { BACKUPY_STATE_DIR: dir.path };
  for (const args of [["dump-state"], ["manifest"]]) {
    const result = await runAgent(args, env);
    assertEquals(result.code, 1, result.stderr);
    assertStringIncludes(result.stderr, `no agent state in ${dir.path}`);
  }
  assertEquals([...Deno.readDirSync(dir.path)], []);
});
