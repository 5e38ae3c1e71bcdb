/**
 * Benchmark: the agent's Redis snapshot (replication SYNC, CRC-64 checked)
 * of a large dataset against `redis-cli --rdb` on the same server in the
 * same run; then the whole local-mode backup (snapshot + zstd + AES-GCM) for
 * information. Prints times, the ratio and peak RSS. Uses database 15 of
 * the test Redis and empties it afterwards.
 *
 *   BENCH_REDIS_MIB=1024 BENCH_ONLY=redis deno task bench
 */
import { join } from "node:path";
import { Redis } from "ioredis";
import { AGENT_PERMISSIONS, ROOT } from "../support/programs.ts";
import { measure } from "./measure.ts";

const MIB = Number(Deno.env.get("BENCH_REDIS_MIB") ?? 1024);
const url = new URL(Deno.env.get("BACKUPY_TEST_REDIS_URL") ?? "redis://127.0.0.1:6379");
const port = Number(url.port || 6379);

const redis = new Redis({ host: url.hostname, port, db: 15 });
const dir = await Deno.makeTempDir({ prefix: "backupy-redis-bench-" });
try {
  console.log(`\nredis benchmark: ${MIB} MiB dataset`);
  await redis.flushdb();
  const value = (i: number) => `${i}:` + "abcdefghij".repeat(100);
  const keys = Math.ceil((MIB * 1024 * 1024) / 1024);
  for (let start = 0; start < keys; start += 10_000) {
    const pipeline = redis.pipeline();
    for (let i = start; i < Math.min(keys, start + 10_000); i++) {
      pipeline.set(`bench:${i}`, value(i));
    }
    await pipeline.exec();
  }
  await redis.config("SET", "repl-diskless-sync-delay", "0");
  const reference = await measure("redis-cli", [
    "-h",
    url.hostname,
    "-p",
    String(port),
    "--rdb",
    join(dir, "ref.rdb"),
  ]);
  const ours = await measure(Deno.execPath(), [
    "run",
    ...AGENT_PERMISSIONS,
    join(ROOT, "tests/bench/redis_snapshot.ts"),
    url.hostname,
    String(port),
    join(dir, "ours.rdb"),
  ]);
  const size = Deno.statSync(join(dir, "ours.rdb")).size;
  const line = (label: string, m: { seconds: number; peakRssMiB: number }) =>
    `${label.padEnd(34)} ${m.seconds.toFixed(2).padStart(6)} s  ${
      (size / m.seconds / 1e6).toFixed(0).padStart(5)
    } MB/s  peak RSS ${m.peakRssMiB.toFixed(0)} MiB`;
  console.log(line("redis-cli --rdb", reference));
  console.log(line("backupy Redis engine (SYNC)", ours));
  console.log(
    `ratio (ours / redis-cli time): ${
      (ours.seconds / reference.seconds).toFixed(2)
    }x (target <= 1.1x)`,
  );
  const full = await measure(Deno.execPath(), [
    "run",
    ...AGENT_PERMISSIONS,
    join(ROOT, "agent/main.ts"),
    "backup",
    "--target",
    `redis://${url.hostname}:${port}`,
    "--out",
    join(dir, "full.enc"),
    "--generate-key",
    join(dir, "full.key"),
  ]);
  console.log(line("backupy-agent backup (zstd + AES)", full));
  const bare = await measure(Deno.execPath(), [
    "run",
    ...AGENT_PERMISSIONS,
    join(ROOT, "agent/main.ts"),
    "backup",
    "--target",
    `redis://${url.hostname}:${port}`,
    "--out",
    join(dir, "bare.enc"),
    "--key-file",
    join(dir, "full.key"),
    "--no-manifest",
  ]);
  console.log(line("  the same with --no-manifest", bare));
} finally {
  await redis.flushdb();
  redis.disconnect();
  await Deno.remove(dir, { recursive: true });
}
