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
  await redis(
    "eval",
    `local p = ARGV[1]
     for i = 1, 300 do redis.call('SET', p .. 's' .. i, string.rep('x', i % 40)) end
     redis.call('SET', p .. 'int', '-123456')
     redis.call('SET', p .. 'long-' .. string.rep('compressible', 20), string.rep('abc', 50000))
     for i = 1, 300 do redis.call('RPUSH', p .. 'list:big', 'item' .. i) end
     redis.call('RPUSH', p .. 'list:small', 'a', 'b')
     for i = 1, 600 do redis.call('SADD', p .. 'set:big', 'm' .. i) end
     redis.call('SADD', p .. 'set:int', 1, 2, 3)
     redis.call('SADD', p .. 'set:small', 'a', 'b')
     for i = 1, 200 do redis.call('ZADD', p .. 'zset:big', i / 3, 'z' .. i) end
     redis.call('ZADD', p .. 'zset:small', 1.5, 'a')
     for i = 1, 600 do redis.call('HSET', p .. 'hash:big', 'f' .. i, 'v' .. i) end
     redis.call('HSET', p .. 'hash:small', 'a', '1')
     redis.call('SET', p .. 'expiring', 'v', 'EX', '1000')
     for i = 1, 50 do redis.call('XADD', p .. 'stream', '*', 'k', 'v' .. i) end
     redis.call('XGROUP', 'CREATE', p .. 'stream', 'g1', '0')
     redis.call('XREADGROUP', 'GROUP', 'g1', 'c1', 'COUNT', '5', 'STREAMS', p .. 'stream', '>')
     return 1`,
    "0",
    prefix,
  );
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
