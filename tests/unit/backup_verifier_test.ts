/**
 * The after-backup verifier of service mode: a backup that fails its level
 * is reported as an ERROR naming what differs and counted in the failure
 * metric; a backup without a manifest is verified for its structure and
 * says so; the staged file is removed on every path, also at shutdown.
 */
import { assert, assertEquals, assertMatch } from "../support/assert.ts";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { dekFromKeyFile, importDek } from "../../decrypt/dek.ts";
import { localBackup } from "../../agent/local/local_backup.ts";
import { type BackupManifest, readManifest } from "../../agent/manifest/backup_manifest.ts";
import { Logger } from "../../agent/log/logger.ts";
import { AgentMetrics } from "../../agent/metrics/agent_metrics.ts";
import { BackupVerifier, type VerifyWork } from "../../agent/runs/backup_verifier.ts";
import { tempDir } from "../support/agent_fixtures.ts";
import { waitUntil } from "../support/wait.ts";

/** A local SQLite backup with its manifest and key. */
async function sqliteBackup(dir: string) {
  const database = join(dir, "app.db");
  const db = new DatabaseSync(database);
  db.exec("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT)");
  for (let i = 0; i < 200; i++) db.prepare("INSERT INTO items (name) VALUES (?)").run(`n${i}`);
  db.close();
  const out = join(dir, "app.enc");
  const result = await localBackup({
    target: `sqlite://${database}`,
    out,
    generateKey: join(dir, "app.key"),
    compression: "zstd",
    tempDir: dir,
    signal: new AbortController().signal,
  });
  const key = await importDek(dekFromKeyFile(await Deno.readFile(result.keyFile)));
  return { out, key, sha256: result.sha256, manifest: await readManifest(`${out}.manifest`, key) };
}

function setUp(dir: string) {
  const lines: Record<string, unknown>[] = [];
  const log = Logger.create("info", (line) => lines.push(JSON.parse(line)));
  const metrics = new AgentMetrics(() => 0);
  const verifier = new BackupVerifier({ log, metrics, tempDir: dir });
  return { lines, metrics, verifier };
}

/** Work that removes its file when released, as after a backup. */
function work(
  backup: { key: CryptoKey; sha256: string; manifest?: BackupManifest },
  jobId: string,
  runId: string,
  file: string,
  level: "structure" | "manifest",
): VerifyWork {
  return {
    jobId,
    runId,
    file,
    key: backup.key,
    sha256: backup.sha256,
    manifest: backup.manifest,
    level,
    release: () => Deno.remove(file).catch(() => {}),
  };
}

Deno.test("verifier: a wrong count in the manifest fails level manifest, naming the table; counted; file removed", async () => {
  await using dir = await tempDir("backupy-verifier-");
  const backup = await sqliteBackup(dir.path);
  const { lines, metrics, verifier } = setUp(dir.path);
  backup.manifest.objects[0].rows += 1;
  verifier.enqueue(work(backup, "job-1", "run-1", backup.out, "manifest"));
  await verifier.idle();
  const failed = lines.find((l) => l.msg === "backup failed verification at level manifest");
  assert(failed, JSON.stringify(lines));
  assertEquals(failed.level, "error");
  assertEquals(failed.job_id, "job-1");
  assertEquals(failed.run_id, "run-1");
  assertMatch(String(failed.checks), /manifest FAILED: .*items.*201.*200/);
  assertMatch(String(failed.checks), /sha256 ok/);
  const text = await metrics.text();
  assertMatch(text, /backupy_agent_verify_failures_total\{job_id="job-1",level="manifest"\} 1/);
  assert(!/backupy_agent_last_verified_timestamp_seconds\{/.test(text));
  await assertGone(backup.out);
});

Deno.test("verifier: a backup cut short fails level structure; a good one passes and sets the timestamp", async () => {
  await using dir = await tempDir("backupy-verifier-");
  const backup = await sqliteBackup(dir.path);
  const cut = join(dir.path, "cut.enc");
  const bytes = await Deno.readFile(backup.out);
  await Deno.writeFile(cut, bytes.subarray(0, bytes.length - 100));
  const { lines, metrics, verifier } = setUp(dir.path);
  verifier.enqueue(work(backup, "job-1", "run-cut", cut, "structure"));
  verifier.enqueue(work(backup, "job-2", "run-good", backup.out, "structure"));
  await verifier.idle();
  const failed = lines.find((l) => l.run_id === "run-cut" && l.component === "verify");
  assertEquals(failed?.level, "error");
  assertEquals(failed?.msg, "backup failed verification at level structure");
  const passed = lines.find((l) => l.run_id === "run-good" && l.component === "verify");
  assertEquals(passed?.level, "info");
  assertEquals(passed?.forward, true);
  const text = await metrics.text();
  assertMatch(text, /backupy_agent_verify_failures_total\{job_id="job-1",level="structure"\} 1/);
  assertMatch(
    text,
    /backupy_agent_last_verified_timestamp_seconds\{job_id="job-2",level="structure"\} \d/,
  );
  await assertGone(cut);
  await assertGone(backup.out);
});

Deno.test("verifier: level manifest without a manifest proves structure and says why", async () => {
  await using dir = await tempDir("backupy-verifier-");
  const backup = await sqliteBackup(dir.path);
  const { lines, metrics, verifier } = setUp(dir.path);
  verifier.enqueue(
    work({ key: backup.key, sha256: backup.sha256 }, "job-1", "run-1", backup.out, "manifest"),
  );
  await verifier.idle();
  const passed = lines.find((l) => l.component === "verify");
  assertEquals(passed?.msg, "backup verified: level structure proved");
  assertMatch(String(passed?.note), /no manifest for this backup/);
  assertMatch(
    await metrics.text(),
    /backupy_agent_last_verified_timestamp_seconds\{job_id="job-1",level="structure"\} \d/,
  );
});

Deno.test("verifier: shutdown removes what is queued and verifies nothing more", async () => {
  await using dir = await tempDir("backupy-verifier-");
  const backup = await sqliteBackup(dir.path);
  const copy = join(dir.path, "copy.enc");
  await Deno.copyFile(backup.out, copy);
  const { lines, verifier } = setUp(dir.path);
  verifier.enqueue(work(backup, "job-1", "run-1", backup.out, "structure"));
  verifier.enqueue(work(backup, "job-1", "run-2", copy, "structure"));
  await verifier.shutdown();
  await assertGone(backup.out);
  await assertGone(copy);
  assert(!lines.some((l) => l.run_id === "run-2" && String(l.msg).startsWith("backup")));
  // After shutdown a late backup's file is removed at once.
  const late = join(dir.path, "late.enc");
  await Deno.writeFile(late, new Uint8Array(10));
  verifier.enqueue(work(backup, "job-1", "run-3", late, "structure"));
  await verifier.idle();
  // Released without waiting: give the removal a moment, however busy the machine.
  await waitUntil(
    "the late backup's removal",
    () => Deno.stat(late).then(() => false, () => true),
    2000,
  );
  await assertGone(late);
});

async function assertGone(path: string): Promise<void> {
  try {
    await Deno.stat(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return;
    throw error;
  }
  throw new Error(`${path} is still there`);
}

Deno.test("verifier: when it falls behind, the oldest waiting backup is dropped and named", async () => {
  await using dir = await tempDir("backupy-verifier-");
  const backup = await sqliteBackup(dir.path);
  const { lines, verifier } = setUp(dir.path);
  const files: string[] = [];
  for (let i = 0; i < 7; i++) {
    const copy = join(dir.path, `copy-${i}.enc`);
    await Deno.copyFile(backup.out, copy);
    files.push(copy);
  }
  // All at once, as a burst of finished backups would come.
  files.forEach((file, i) =>
    verifier.enqueue(work(backup, "job-1", `run-${i}`, file, "structure"))
  );
  await verifier.idle();
  const verified = lines.filter((l) => String(l.msg).startsWith("backup verified")).map((l) =>
    l.run_id
  );
  const dropped = lines.filter((l) => String(l.msg).startsWith("not verified")).map((l) =>
    l.run_id
  );
  // The first started at once; of the six that waited, the four newest were kept.
  assertEquals(verified, ["run-0", "run-3", "run-4", "run-5", "run-6"]);
  assertEquals(dropped, ["run-1", "run-2"]);
  for (const file of files) await assertGone(file);
});
