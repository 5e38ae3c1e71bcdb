/**
 * Builders for the agent's e2e tests: configs with SQLite targets, RunBackup
 * commands with presigned URLs, SQLite databases with known rows, and a
 * temporary state directory per test.
 */
import { create } from "@bufbuild/protobuf";
import { DatabaseSync } from "node:sqlite";
import { join } from "node:path";
import {
  ConnectionStrategy,
  DbType,
  RetryPolicySchema,
  S3UploadCredsSchema,
} from "@backupy/gen/backup/v1/common_pb.ts";
import {
  type AgentConfig,
  AgentConfigSchema,
  BackupJobSpecSchema,
  ConnectionConfigSchema,
  type RunBackup,
  RunBackupSchema,
  TargetSchema,
} from "@backupy/gen/backup/v1/server_to_agent_pb.ts";
import type { S3Server } from "./s3_server.ts";

/** A valid agent key for tests (it must never appear in a log). */
export const TEST_AGENT_KEY = "bkpy_test_Zq7Xw3Lp9Rt2Vb6Nm4Kc8Hd1Fg5Js0Ay";

/** A temporary directory removed at dispose. */
export async function tempDir(prefix: string): Promise<{ path: string } & AsyncDisposable> {
  const path = await Deno.makeTempDir({ prefix });
  return {
    path,
    [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }).catch(() => {}),
  };
}

/** Creates a SQLite database with `rows` rows in table `items` (WAL mode, like most apps). */
export function makeSqliteDatabase(path: string, rows: number): void {
  const db = new DatabaseSync(path);
  db.exec(
    "PRAGMA journal_mode = WAL; CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT, blob BLOB)",
  );
  const insert = db.prepare("INSERT INTO items (name, blob) VALUES (?, ?)");
  db.exec("BEGIN");
  for (let i = 0; i < rows; i++) {
    insert.run(`item ${i} ${"x".repeat(i % 50)}`, new Uint8Array([i & 255, 7, 0, 255]));
  }
  db.exec("COMMIT");
  db.close();
}

/** Rows of `items` as a comparable list. */
export function readItems(path: string): unknown[] {
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    return db.prepare("SELECT id, name, hex(blob) AS blob FROM items ORDER BY id").all().map((
      row,
    ) => ({ ...row }));
  } finally {
    db.close();
  }
}

/** Options of {@linkcode sqliteConfig}. */
export interface JobOptions {
  jobId?: string;
  compression?: string;
  preHooks?: string[];
  postHooks?: string[];
  maxAttempts?: number;
  backoffSeconds?: number[];
  timeoutSec?: number;
}

/** A config with one SQLite target and one job on it. */
export function sqliteConfig(
  databasePath: string,
  version = 1n,
  jobs: JobOptions[] = [{}],
): AgentConfig {
  return create(AgentConfigSchema, {
    version,
    targets: [
      create(TargetSchema, {
        id: "t-sqlite",
        type: DbType.SQLITE,
        displayName: "app db",
        connection: create(ConnectionConfigSchema, {
          database: databasePath,
          strategy: ConnectionStrategy.TCP,
        }),
      }),
    ],
    jobs: jobs.map((job) =>
      create(BackupJobSpecSchema, {
        id: job.jobId ?? "job-1",
        targetId: "t-sqlite",
        cron: "0 3 * * *",
        compression: job.compression ?? "zstd",
        encryptionEnabled: true,
        preHooks: job.preHooks ?? [],
        postHooks: job.postHooks ?? [],
        retry: create(RetryPolicySchema, {
          maxAttempts: job.maxAttempts ?? 1,
          backoffSeconds: job.backoffSeconds ?? [],
        }),
        timeoutSec: job.timeoutSec ?? 0,
      })
    ),
  });
}

/** A RunBackup for `jobId` uploading to `s3` (or to `url` when given). */
export async function runBackupCommand(
  s3: S3Server | null,
  runId: string,
  options: { jobId?: string; dek?: Uint8Array; url?: string; expiresInSec?: number } = {},
): Promise<RunBackup> {
  const key = `agents/a1/${runId}.enc`;
  const expiresInSec = options.expiresInSec ?? 900;
  return create(RunBackupSchema, {
    jobId: options.jobId ?? "job-1",
    runId,
    manualTrigger: true,
    uploadCreds: create(S3UploadCredsSchema, {
      presignedPutUrl: options.url ?? await s3!.presignPut(key, Math.max(1, expiresInSec)),
      expiresAtMs: BigInt(Date.now() + expiresInSec * 1000),
      finalS3Key: key,
    }),
    encryptedDek: options.dek ?? crypto.getRandomValues(new Uint8Array(32)),
  });
}

/** The S3 key a run uploads to. */
export function s3KeyOf(runId: string): string {
  return `agents/a1/${runId}.enc`;
}

/** Where the agent's state lives inside a test directory. */
export function stateDirIn(dir: string): string {
  return join(dir, "state");
}
