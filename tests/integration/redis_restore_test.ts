/**
 * Redis restored natively into a running server (engines/redis/redis_restore.ts),
 * through `backupy-agent restore` as a user runs it: a private server with
 * every type and encoding, TTLs, two logical databases and a function
 * library is backed up, restored into another private server and compared
 * value by value; RESTORE payloads equal the server's own DUMP byte for
 * byte; existing keys are named and left alone unless --replace; a snapshot
 * newer than the target reads is refused before anything is written.
 */
import { join } from "node:path";
import { tempDir } from "../support/agent_fixtures.ts";
import { assert, assertEquals, assertMatch, assertStringIncludes } from "../support/assert.ts";
import { runAgent, runDecrypt } from "../support/programs.ts";
import { EVERY_TYPE_LUA, redisPicture, startRedis } from "../support/redis_server.ts";
import { compress, encryptV1 } from "../support/v1_fixtures.ts";
import { type RdbEntry, RdbKeys } from "../../agent/engines/redis/rdb_keys.ts";
import { rdbVersionFor, restorePayload } from "../../agent/engines/redis/redis_restore.ts";
import { Crc64Jones } from "../../agent/bytes/crc64.ts";
import type { ByteBuilder } from "../../agent/bytes/byte_builder.ts";
import { RespPipeline } from "../../agent/engines/redis/resp_pipeline.ts";

const LIBRARY =
  "#!lua name=backupylib\nredis.register_function('ping_back', function() return 'pong' end)";

/** Fills `redis` with every type in db 0, a few keys in db 5 and a function library. */
async function fill(redis: { cli(...args: string[]): Promise<string> }) {
  await redis.cli("EVAL", EVERY_TYPE_LUA, "0", "k:");
  await redis.cli("-n", "5", "SET", "other-db", "five");
  await redis.cli("-n", "5", "SET", "short-lived", "soon", "PX", "600000");
  await redis.cli("FUNCTION", "LOAD", LIBRARY);
}

/** `backupy-agent backup` of the server at `url` into `dir`: the backup and its new key. */
async function backupOf(url: string, dir: string): Promise<{ out: string; key: string }> {
  const out = join(dir, "b.enc");
  const key = join(dir, "b.key");
  const backup = await runAgent(["backup", "--target", url, "--out", out, "--generate-key", key]);
  assertEquals(backup.code, 0, backup.stderr);
  return { out, key };
}

Deno.test("restore: every type, TTL, database and function comes back equal; existing keys need --replace", async () => {
  await using dir = await tempDir("backupy-redis-restore-");
  await using source = await startRedis(dir.path);
  await using target = await startRedis(dir.path);
  await fill(source);
  const { out, key } = await backupOf(source.url, dir.path);

  const restored = await runAgent([
    "restore",
    "--target",
    target.url,
    "--in",
    out,
    "--key-file",
    key,
  ]);
  assertEquals(restored.code, 0, restored.stderr);
  assertMatch(restored.stderr, /OK: restored \d+ keys/);
  assertEquals(await redisPicture(target), await redisPicture(source));
  assertEquals(await target.cli("FCALL", "ping_back", "0"), "pong");

  // Again: every key exists now. Nothing is overwritten, each is named.
  await target.cli("-n", "5", "SET", "other-db", "changed since");
  const again = await runAgent(["restore", "--target", target.url, "--in", out, "--key-file", key]);
  assertEquals(again.code, 1, again.stderr);
  assertMatch(
    again.stderr,
    /already existed in the target and were left as they were: .*\(pass --replace/,
  );
  assertStringIncludes(again.stderr, "a function library");
  assertEquals(await target.cli("-n", "5", "GET", "other-db"), "changed since");

  const replaced = await runAgent([
    "restore",
    "--target",
    target.url,
    "--in",
    out,
    "--key-file",
    key,
    "--replace",
  ]);
  assertEquals(replaced.code, 0, replaced.stderr);
  assertEquals(await target.cli("-n", "5", "GET", "other-db"), "five");
  assertEquals(await redisPicture(target), await redisPicture(source));
});

Deno.test("restore payloads equal the server's own DUMP of each key, byte for byte", async () => {
  await using dir = await tempDir("backupy-redis-payload-");
  await using source = await startRedis(dir.path);
  await fill(source);
  const file = join(dir.path, "snapshot.rdb");
  await source.cli("--rdb", file);
  const bytes = await Deno.readFile(file);
  const version = Number(new TextDecoder().decode(bytes.subarray(5, 9)));
  const entries: RdbEntry[] = [];
  const walker = new RdbKeys({ onEntry: (entry) => entries.push(entry) });
  // Uneven pieces: values recorded across chunk boundaries.
  for (let i = 0, step = 1; i < bytes.length; i += step, step = (step * 5) % 3001 + 1) {
    walker.update(bytes.subarray(i, i + step));
  }
  assertEquals(walker.problem(), null);
  assert(entries.length > 300, `${entries.length} entries`);
  for (const entry of entries) {
    const name = new TextDecoder().decode(entry.key);
    const dumped = await dumpBytes(source.port, entry.db, name);
    assertEquals(restorePayload(entry, version), dumped, `${name} in db${entry.db}`);
  }
  const ttl = entries.find((e) => new TextDecoder().decode(e.key) === "k:expiring")!;
  assert(ttl.expireAtMs! > Date.now(), "the absolute expiry is read");
});

Deno.test("a snapshot of a newer RDB version than the target reads is refused before anything is written", async () => {
  await using dir = await tempDir("backupy-redis-version-");
  await using source = await startRedis(dir.path);
  await using target = await startRedis(dir.path);
  await source.cli("SET", "a", "1");
  const file = join(dir.path, "snapshot.rdb");
  await source.cli("--rdb", file);
  const rdb = await Deno.readFile(file);
  // Version 99, with the checksum made anew so only the version is wrong.
  rdb.set(new TextEncoder().encode("0099"), 5);
  const crc = new Crc64Jones();
  crc.update(rdb.subarray(0, rdb.length - 8));
  new DataView(rdb.buffer).setBigUint64(rdb.length - 8, crc.value(), true);
  const dek = crypto.getRandomValues(new Uint8Array(32));
  await Deno.writeFile(
    join(dir.path, "future.enc"),
    await encryptV1(compress(rdb, "zstd"), { dek }),
  );
  await Deno.writeTextFile(join(dir.path, "future.key"), dek.toHex());
  const restored = await runAgent([
    "restore",
    "--target",
    target.url,
    "--in",
    join(dir.path, "future.enc"),
    "--key-file",
    join(dir.path, "future.key"),
  ]);
  assertEquals(restored.code, 1, restored.stderr);
  assertMatch(restored.stderr, /RDB version 99, and Redis 7\.\d+\.\d+ reads at most version \d+/);
  assertEquals(await target.cli("DBSIZE"), "0");
  // The decrypted file is still an RDB a person can load by hand.
  const plain = join(dir.path, "future.rdb");
  assertEquals(
    (await runDecrypt([
      "--key-file",
      join(dir.path, "future.key"),
      "--in",
      join(dir.path, "future.enc"),
      "--out",
      plain,
    ])).code,
    0,
  );
});

Deno.test("restore failures: nobody listening, a refused login; the password is never repeated", async () => {
  await using dir = await tempDir("backupy-redis-restore-fail-");
  await using source = await startRedis(dir.path);
  await source.cli("SET", "a", "1");
  const { out, key } = await backupOf(source.url, dir.path);
  const nobody = await runAgent([
    "restore",
    "--target",
    "redis://127.0.0.1:1",
    "--in",
    out,
    "--key-file",
    key,
  ]);
  assertEquals(nobody.code, 1, nobody.stderr);
  assertStringIncludes(nobody.stderr, "cannot connect to Redis at 127.0.0.1:1");

  const password = `pw-${crypto.randomUUID()}`;
  await using locked = await startRedis(dir.path, ["--requirepass", password]);
  const wrong = await runAgent([
    "restore",
    "--target",
    `redis://:not-${password}@127.0.0.1:${locked.port}`,
    "--in",
    out,
    "--key-file",
    key,
  ]);
  assertEquals(wrong.code, 1, wrong.stderr);
  assertMatch(wrong.stderr, /refused the login: WRONGPASS/);
  assert(!wrong.stderr.includes(password), "no password in the message");
  const right = await runAgent(
    ["restore", "--target", `redis://127.0.0.1:${locked.port}`, "--in", out, "--key-file", key],
    { REDISCLI_AUTH: password },
  );
  assertEquals(right.code, 0, right.stderr);
});

Deno.test("verify --level restore --scratch: restored into an empty server, compared, and emptied again; a server with data is refused", async () => {
  await using dir = await tempDir("backupy-redis-verify-");
  await using source = await startRedis(dir.path);
  await using scratch = await startRedis(dir.path);
  await fill(source);
  const { out, key } = await backupOf(source.url, dir.path);
  const args = ["verify", "--in", out, "--key-file", key, "--level", "restore"];
  const verified = await runAgent([...args, "--scratch", scratch.url]);
  assertEquals(verified.code, 0, verified.stderr);
  assertMatch(verified.stderr, /restore: restored in [\d.]+ s .*: 2 objects equal the manifest's/);
  assertEquals(await scratch.cli("DBSIZE"), "0");
  assertEquals(await scratch.cli("FUNCTION", "LIST"), "");

  await scratch.cli("SET", "precious", "keep me");
  const refused = await runAgent([...args, "--scratch", scratch.url]);
  assertEquals(refused.code, 1, refused.stderr);
  assertStringIncludes(refused.stderr, "the scratch server holds data");
  assertEquals(await scratch.cli("GET", "precious"), "keep me");

  const none = await runAgent(args);
  assertEquals(none.code, 1);
  assertStringIncludes(none.stderr, "needs an empty scratch server (--scratch redis://");
});

Deno.test("verify --level restore --scratch redis://host/N: one logical database of a server that holds data, emptied alone", async () => {
  await using dir = await tempDir("backupy-redis-verify-db-");
  await using source = await startRedis(dir.path);
  await using scratch = await startRedis(dir.path);
  await source.cli("EVAL", EVERY_TYPE_LUA, "0", "k:");
  const { out, key } = await backupOf(source.url, dir.path);
  // The scratch server holds data elsewhere, which the check must leave alone.
  await scratch.cli("SET", "precious", "keep me");
  await scratch.cli("-n", "3", "SET", "also", "kept");
  const args = ["verify", "--in", out, "--key-file", key, "--level", "restore"];
  const verified = await runAgent([...args, "--scratch", `${scratch.url}/7`]);
  assertEquals(verified.code, 0, verified.stderr);
  assertMatch(verified.stderr, /restore: restored in [\d.]+ s.*: 1 objects equal the manifest's/);
  assertEquals(await scratch.cli("-n", "7", "DBSIZE"), "0");
  assertEquals(await scratch.cli("GET", "precious"), "keep me");
  assertEquals(await scratch.cli("-n", "3", "GET", "also"), "kept");

  // A database that holds keys is refused and left as it was.
  await scratch.cli("-n", "7", "SET", "mine", "1");
  const busy = await runAgent([...args, "--scratch", `${scratch.url}/7`]);
  assertEquals(busy.code, 1, busy.stderr);
  assertStringIncludes(busy.stderr, "the scratch database 7 holds data");
  assertEquals(await scratch.cli("-n", "7", "GET", "mine"), "1");

  // A snapshot of two databases, or with function libraries, needs a whole server.
  await source.cli("-n", "5", "SET", "other-db", "five");
  await Deno.mkdir(join(dir.path, "two"));
  const two = await backupOf(source.url, join(dir.path, "two"));
  const twoDbs = await runAgent([
    "verify",
    "--in",
    two.out,
    "--key-file",
    two.key,
    "--level",
    "restore",
    "--scratch",
    `${scratch.url}/8`,
  ]);
  assertEquals(twoDbs.code, 1, twoDbs.stderr);
  assertMatch(
    twoDbs.stderr,
    /holds 2 logical databases \(db0, db5\) and the scratch URL names one/,
  );
  await source.cli("-n", "5", "FLUSHDB");
  await source.cli("FUNCTION", "LOAD", LIBRARY);
  await Deno.mkdir(join(dir.path, "lib"));
  const lib = await backupOf(source.url, join(dir.path, "lib"));
  const withLibrary = await runAgent([
    "verify",
    "--in",
    lib.out,
    "--key-file",
    lib.key,
    "--level",
    "restore",
    "--scratch",
    `${scratch.url}/8`,
  ]);
  assertEquals(withLibrary.code, 1, withLibrary.stderr);
  assertStringIncludes(withLibrary.stderr, "holds function libraries");
  assertEquals(await scratch.cli("-n", "8", "DBSIZE"), "0");
  assertEquals(await scratch.cli("FUNCTION", "LIST"), "");

  // backupy-agent restore puts databases back under their own numbers: a URL naming one is refused.
  const restore = await runAgent([
    "restore",
    "--target",
    `${scratch.url}/9`,
    "--in",
    out,
    "--key-file",
    key,
  ]);
  assertEquals(restore.code, 1, restore.stderr);
  assertStringIncludes(restore.stderr, "leave /9 out of the target URL");
  assertEquals(await scratch.cli("-n", "9", "DBSIZE"), "0");
});

Deno.test("rdbVersionFor: the RDB version each Redis release reads at most", () => {
  assertEquals(rdbVersionFor("7.4.1"), 12);
  assertEquals(rdbVersionFor("7.2.4"), 11);
  assertEquals(rdbVersionFor("7.0.15"), 10);
  assertEquals(rdbVersionFor("6.2.14"), 9);
  assertEquals(rdbVersionFor("8.0.0"), 12);
});

/** DUMP of `key` as raw bytes (RESP read by hand: redis-cli cannot print binary replies). */
async function dumpBytes(port: number, db: number, key: string): Promise<Uint8Array> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    const arg = (s: string) => `$${new TextEncoder().encode(s).length}\r\n${s}\r\n`;
    await conn.write(
      new TextEncoder().encode(
        `*2\r\n${arg("SELECT")}${arg(String(db))}*2\r\n${arg("DUMP")}${arg(key)}`,
      ),
    );
    const chunks: Uint8Array[] = [];
    const buffer = new Uint8Array(65536);
    for (;;) {
      const n = await conn.read(buffer);
      if (n === null) throw new Error("connection closed");
      chunks.push(buffer.slice(0, n));
      const all = new Uint8Array(chunks.reduce((s, c) => s + c.length, 0));
      let at = 0;
      for (const c of chunks) (all.set(c, at), at += c.length);
      // "+OK\r\n" then "$<len>\r\n<payload>\r\n".
      const text = new TextDecoder("latin1").decode(all);
      const header = /^\+OK\r\n\$(\d+)\r\n/.exec(text);
      if (header && all.length >= header[0].length + Number(header[1]) + 2) {
        return all.slice(header[0].length, header[0].length + Number(header[1]));
      }
    }
  } finally {
    conn.close();
  }
}

Deno.test("RESP pipeline: an argument written in place reaches the server as given; one that writes another length than it announced is refused before sending", async () => {
  await using dir = await tempDir("backupy-resp-");
  await using redis = await startRedis(dir.path);
  const pipeline = await RespPipeline.connect({
    hostname: "127.0.0.1",
    port: redis.port,
    tls: false,
  });
  try {
    const value = new TextEncoder().encode("written\r\nin place");
    const inPlace = { length: value.length, writeTo: (out: ByteBuilder) => out.bytes(value) };
    const [set, got] = await pipeline.send([["SET", "k", inPlace], ["GET", "k"]]);
    assertEquals(set, "OK");
    assertEquals(new TextDecoder().decode(got as Uint8Array), "written\r\nin place");
    const lying = { length: 3, writeTo: (out: ByteBuilder) => out.bytes(value) };
    let refused: unknown;
    try {
      await pipeline.send([["SET", "k", lying]]);
    } catch (error) {
      refused = error;
    }
    assert(refused instanceof Error && refused.message.includes("another length"));
    // Nothing was sent: the connection is still in step.
    const [again] = await pipeline.send([["GET", "k"]]);
    assertEquals(new TextDecoder().decode(again as Uint8Array), "written\r\nin place");
  } finally {
    pipeline.close();
  }
});
