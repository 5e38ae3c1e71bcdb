/**
 * runs/run_attempt.ts on its own: one attempt of a SQLite backup through
 * pre-hooks, dump, staging, the manifest and the upload to an in-process
 * endpoint. The staged file is gone afterwards unless the caller keeps it;
 * a failing pre-hook stops the attempt before the dump.
 */
import { join } from "node:path";
import { createHash } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import { BackupJobSpecSchema, type Target } from "@backupy/gen/backup/v1/server_to_agent_pb.ts";
import {
  makeSqliteDatabase,
  runBackupCommand,
  sqliteConfig,
  tempDir,
} from "../support/agent_fixtures.ts";
import { assert, assertEquals, assertMatch, assertRejects } from "../support/assert.ts";
import { UploadEndpoint } from "../support/upload_endpoint.ts";
import { aesKey } from "../support/v1_fixtures.ts";
import { Logger } from "../../agent/log/logger.ts";
import { type AttemptContext, runAttempt, stagedPath } from "../../agent/runs/run_attempt.ts";
import { DEFAULT_HOOK_LIMITS } from "../../agent/runs/hook_runner.ts";

async function context(
  dir: string,
  endpoint: UploadEndpoint,
  overrides: Partial<AttemptContext> = {},
): Promise<AttemptContext & { steps: string[]; retries: number[] }> {
  const database = join(dir, "app.db");
  makeSqliteDatabase(database, 400);
  const config = sqliteConfig(database);
  const steps: string[] = [];
  const retries: number[] = [];
  return {
    request: await runBackupCommand(null, "run-1", { url: endpoint.url("k.enc") }),
    job: config.jobs[0],
    target: config.targets[0] as Target,
    key: await aesKey(),
    compression: "zstd",
    stagingDir: join(dir, "staging"),
    engines: { tempDir: dir },
    signal: new AbortController().signal,
    log: Logger.create("error", () => {}),
    hookLimits: DEFAULT_HOOK_LIMITS,
    hookBudget: { remainingMs: 60_000 },
    hookEnv: {},
    progress: (step) => void (steps.at(-1) !== step && steps.push(step)),
    activity: () => {},
    uploadRetried: () => void retries.push(1),
    steps,
    retries,
    ...overrides,
  };
}

Deno.test("an attempt dumps, stages, uploads and removes the staged file; an upload 500 is retried", async () => {
  await using dir = await tempDir("backupy-attempt-");
  await using endpoint = new UploadEndpoint([{ status: 500 }, { status: 200 }]);
  const ctx = await context(dir.path, endpoint, { collectManifest: true });
  const result = await runAttempt(ctx);
  assertEquals(ctx.steps, ["connecting", "dumping", "uploading"]);
  assertEquals(ctx.retries.length, 1);
  const body = endpoint.requests.at(-1)!.body;
  assertEquals(result.sha256, createHash("sha256").update(body).digest("hex"));
  assertMatch(result.engineVersion, /^SQLite \d+\.\d+/);
  assertEquals(result.manifest?.objects.map((o) => [o.name, o.rows]), [["items", 400]]);
  assertEquals(result.staged, undefined);
  assertEquals(await Deno.stat(stagedPath(ctx.stagingDir, "run-1")).catch(() => null), null);
});

Deno.test("keepStaged leaves the uploaded file for the caller", async () => {
  await using dir = await tempDir("backupy-attempt-keep-");
  await using endpoint = new UploadEndpoint([{ status: 200 }]);
  const ctx = await context(dir.path, endpoint, { keepStaged: true });
  const result = await runAttempt(ctx);
  assert(result.staged, "the staged file is handed over");
  assertEquals(await Deno.readFile(result.staged), endpoint.requests[0].body);
});

Deno.test("a failing pre-hook stops the attempt before the dump, and nothing is uploaded", async () => {
  await using dir = await tempDir("backupy-attempt-hook-");
  await using endpoint = new UploadEndpoint([{ status: 200 }]);
  const ctx = await context(dir.path, endpoint);
  ctx.job = create(BackupJobSpecSchema, { ...ctx.job, preHooks: ["exit 3"] });
  const error = await assertRejects(() => runAttempt(ctx));
  assertMatch(String(error), /hook 1 exited with 3/);
  assertEquals(ctx.steps, ["hooks"]);
  assertEquals(endpoint.requests.length, 0);
});

Deno.test("an upload refused for good (403) fails the attempt and removes the staged file", async () => {
  await using dir = await tempDir("backupy-attempt-403-");
  await using endpoint = new UploadEndpoint([{ status: 403 }]);
  const ctx = await context(dir.path, endpoint);
  await assertRejects(() => runAttempt(ctx));
  assertEquals(ctx.retries.length, 0, "a 403 is not retried");
  assertEquals(await Deno.stat(stagedPath(ctx.stagingDir, "run-1")).catch(() => null), null);
});
