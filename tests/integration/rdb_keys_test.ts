/**
 * The RDB walk against the test Redis: a database with every type Redis 7
 * writes (each encoding: int, raw and LZF-compressed strings, listpacks and
 * quicklists, intsets, hash tables, skiplists, a stream with a consumer
 * group and pending entries, expiring keys) is walked to its EOF, and each
 * database's key count and digest equal what SCAN and TYPE say.
 */
import { assertEquals } from "../support/assert.ts";
import { join } from "node:path";
import { RowDigest } from "../../agent/manifest/row_digest.ts";
import { RdbKeys } from "../../agent/engines/redis/rdb_keys.ts";
import { tempDir } from "../support/agent_fixtures.ts";
import { EVERY_TYPE_LUA } from "../support/redis_server.ts";

const DB = "12";

async function redis(...args: string[]): Promise<string> {
  const out = await new Deno.Command("redis-cli", {
    args: ["-n", DB, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
  return new TextDecoder().decode(out.stdout).trim();
}

Deno.test("RDB walk: every key of every type, each database's count and digest equal SCAN and TYPE", async () => {
  const prefix = `rk:${crypto.randomUUID().slice(0, 8)}:`;
  await redis("eval", EVERY_TYPE_LUA, "0", prefix);
  await using dir = await tempDir("backupy-rdb-keys-");
  try {
    const file = join(dir.path, "dump.rdb");
    await new Deno.Command("redis-cli", { args: ["--rdb", file], stdout: "null", stderr: "null" })
      .output();
    const bytes = await Deno.readFile(file);
    const walk = new RdbKeys();
    // Small, uneven pieces: every read must resume across chunk boundaries.
    for (let i = 0, step = 1; i < bytes.length; i += step, step = (step * 7) % 4093 + 1) {
      walk.update(bytes.subarray(i, i + step));
    }
    assertEquals(walk.problem(), null);
    assertEquals(walk.aux.get("redis-ver")?.split(".")[0], "7");

    // What SCAN and TYPE say of the same database (other tests may use it too: the whole of it).
    const expected = new RowDigest();
    const keys = (await redis("--scan")).split("\n").filter(Boolean);
    for (const key of keys) {
      const type = await redis("type", key);
      expected.add(new TextEncoder().encode(`${type}:${key}`));
    }
    const db = walk.databases.get(Number(DB))!;
    assertEquals([db.keys.rows, db.keys.hex()], [expected.rows, expected.hex()]);
  } finally {
    await redis(
      "eval",
      "for _, k in ipairs(redis.call('KEYS', ARGV[1] .. '*')) do redis.call('DEL', k) end",
      "0",
      prefix,
    );
  }
});
