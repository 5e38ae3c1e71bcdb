/**
 * A private redis-server for one test (its own port and directory, no
 * snapshots or AOF of its own), so that what the test backs up or restores
 * is exactly what it put there, whatever other tests do to the shared one.
 */
import { freePort, waitForPort } from "./free_port.ts";

/** A running private server; disposing it stops it. */
export interface PrivateRedis extends AsyncDisposable {
  port: number;
  url: string;
  /** redis-cli against this server with `args`; its trimmed output, or throws with stderr. */
  cli(...args: string[]): Promise<string>;
}

/** Starts redis-server on a free port with its files in `dir` (and `extra` arguments). */
export async function startRedis(dir: string, extra: string[] = []): Promise<PrivateRedis> {
  const port = freePort();
  const server = new Deno.Command("redis-server", {
    args: [
      "--port",
      String(port),
      "--bind",
      "127.0.0.1",
      "--dir",
      dir,
      "--save",
      "",
      "--appendonly",
      "no",
      // A replica's snapshot (the agent's SYNC) starts at once instead of after 5 s.
      "--repl-diskless-sync-delay",
      "0",
      "--dbfilename",
      `private-${port}.rdb`,
      ...extra,
    ],
    stdout: "null",
    stderr: "null",
  }).spawn();
  await waitForPort(port, 20_000, "a private redis-server");
  const cli = async (...args: string[]) => {
    const out = await new Deno.Command("redis-cli", {
      args: ["-p", String(port), ...args],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout).trim();
    if (!out.success || /^(ERR|WRONGTYPE|BUSYKEY)/.test(text)) {
      throw new Error(`redis-cli ${args[0]}: ${text} ${new TextDecoder().decode(out.stderr)}`);
    }
    return text;
  };
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    cli,
    [Symbol.asyncDispose]: async () => {
      try {
        server.kill("SIGKILL");
      } catch {
        // Already gone.
      }
      await server.status;
    },
  };
}

/** Every type and encoding Redis 7 writes, with TTLs, in databases 0 and 5, and a function library. */
export const EVERY_TYPE_LUA = `
local p = ARGV[1]
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
redis.call('SET', p .. 'expiring', 'v', 'EX', '100000')
for i = 1, 50 do redis.call('XADD', p .. 'stream', '*', 'k', 'v' .. i) end
redis.call('XGROUP', 'CREATE', p .. 'stream', 'g1', '0')
redis.call('XREADGROUP', 'GROUP', 'g1', 'c1', 'COUNT', '5', 'STREAMS', p .. 'stream', '>')
return 1`;

/**
 * One database's keys, each with its type, whether it expires, and its
 * value in a form that does not depend on how the server stores it (sets
 * and hashes sorted; a stream's entries, groups and pending entries), as
 * one JSON array: computed in the server, one call per database.
 */
const PICTURE_LUA = `
redis.call('SELECT', ARGV[1])
local keys = {}
local cursor = '0'
repeat
  local page = redis.call('SCAN', cursor, 'COUNT', 1000)
  cursor = page[1]
  for _, k in ipairs(page[2]) do table.insert(keys, k) end
until cursor == '0'
table.sort(keys)
local out = {}
for _, k in ipairs(keys) do
  local t = redis.call('TYPE', k)['ok']
  local v
  if t == 'string' then v = redis.call('GET', k)
  elseif t == 'list' then v = redis.call('LRANGE', k, 0, -1)
  elseif t == 'set' then v = redis.call('SMEMBERS', k); table.sort(v)
  elseif t == 'zset' then v = redis.call('ZRANGE', k, 0, -1, 'WITHSCORES')
  elseif t == 'hash' then
    local flat = redis.call('HGETALL', k)
    v = {}
    for i = 1, #flat, 2 do table.insert(v, flat[i] .. '=' .. flat[i + 1]) end
    table.sort(v)
  elseif t == 'stream' then
    v = { redis.call('XRANGE', k, '-', '+'), redis.call('XINFO', 'GROUPS', k) }
    for _, g in ipairs(redis.call('XINFO', 'GROUPS', k)) do
      table.insert(v, redis.call('XPENDING', k, g[2]))
    end
  end
  table.insert(out, { k, t, redis.call('PTTL', k) > 0, v })
end
return cjson.encode(out)`;

/**
 * Each database's keys with their type, value and whether they expire,
 * sorted, and the function libraries: what a restore must give back.
 */
export async function redisPicture(redis: PrivateRedis): Promise<string> {
  const lines: string[] = [];
  const keyspace = await redis.cli("INFO", "keyspace");
  for (const [, db] of keyspace.matchAll(/^db(\d+):/gm)) {
    lines.push(`db${db} ${await redis.cli("EVAL", PICTURE_LUA, "0", db)}`);
  }
  lines.push(await redis.cli("FUNCTION", "LIST", "WITHCODE"));
  return lines.join("\n");
}
