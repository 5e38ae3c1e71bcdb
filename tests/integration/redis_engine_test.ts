/**
 * The native Redis engine against the real redis-server that
 * tests/services.sh starts: the RDB snapshot through SYNC in both framings
 * (disk `$len` and diskless `$EOF:`), checked to its CRC-64, restored by a
 * second redis-server with the same keys; an ACL user with only
 * sync/replconf/info; credentials never echoed.
 */
import {
  assert,
  assertEquals,
  assertMatch,
  assertRejects,
  assertStringIncludes,
} from "../support/assert.ts";
import { join } from "node:path";
import { Redis } from "ioredis";
import { Buffer } from "node:buffer";
import { RedisEngine } from "../../agent/engines/redis/redis_engine.ts";
import { RdbTrailer } from "../../agent/engines/redis/rdb_format.ts";
import { DumpError } from "../../agent/engines/shared/engine.ts";
import { Secret } from "../../decrypt/secret.ts";
import { freePort, waitForPort } from "../support/free_port.ts";
import { tempDir } from "../support/agent_fixtures.ts";
import { runAgent, runDecrypt } from "../support/programs.ts";
import { fakeRedis } from "../support/fake_redis.ts";

const url = new URL(Deno.env.get("BACKUPY_TEST_REDIS_URL") ?? "redis://127.0.0.1:6379");
const hostname = url.hostname;
const port = Number(url.port || 6379);
const DB = 9; // this test's keys live in database 9

function client(db = DB, extra: Record<string, unknown> = {}): Redis {
  const redis = new Redis({
    host: hostname,
    port,
    db,
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    ...extra,
  });
  redis.on("error", () => {});
  return redis;
}

async function seed(): Promise<void> {
  const redis = client();
  await redis.connect();
  await redis.flushdb();
  const pipeline = redis.pipeline();
  for (let i = 0; i < 20_000; i++) pipeline.set(`key:${i}`, `value ${i} ${"x".repeat(i % 300)}`);
  pipeline.hset("user:1", { name: "Ada", email: "ada@example.com" });
  pipeline.rpush("queue", "a", "b", "c");
  pipeline.sadd("tags", "x", "y");
  pipeline.set("binary", Buffer.from(Uint8Array.from({ length: 256 }, (_, i) => i)));
  pipeline.set("expiring", "soon", "EX", 3600);
  pipeline.zadd("scores", 1, "one", 2.5, "two-and-a-half", -3, "minus-three");
  pipeline.xadd("events", "1-1", "type", "created", "id", "7");
  pipeline.xadd("events", "2-1", "type", "paid", "id", "7");
  pipeline.xgroup("CREATE", "events", "billing", "0");
  pipeline.set("large", "L".repeat(5 * 1024 * 1024));
  pipeline.set(Buffer.from([0, 255, 10, 13, 0x80]), "binary key");
  await pipeline.exec();
  // A consumer reads one entry: the group's pending list must survive too.
  await redis.xreadgroup("GROUP", "billing", "worker-1", "COUNT", 1, "STREAMS", "events", ">");
  redis.disconnect();
  // A second logical database.
  const other = client(DB + 1);
  await other.connect();
  await other.flushdb();
  await other.set("in-db-10", "yes");
  other.disconnect();
}

/** Dumps with `mode` framing; returns the RDB bytes. */
async function dumpWith(
  mode: "disk" | "diskless",
  engine = new RedisEngine({ hostname, port, tls: false }),
) {
  const admin = client(0);
  await admin.connect();
  const previous = await admin.config("GET", "repl-diskless-sync") as string[];
  await admin.config("SET", "repl-diskless-sync", mode === "diskless" ? "yes" : "no");
  await admin.config("SET", "repl-diskless-sync-delay", "0");
  try {
    const dump = await engine.dump(new AbortController().signal);
    const rdb = await new Response(dump.readable).bytes();
    await dump.finished;
    return rdb;
  } finally {
    await admin.config("SET", "repl-diskless-sync", previous[1]);
    admin.disconnect();
  }
}

/** Starts a throwaway redis-server on `rdb` and returns a client of DB 9. */
async function restore(
  rdb: Uint8Array,
  dir: string,
): Promise<{ redis: Redis; stop: () => Promise<void> }> {
  await Deno.writeFile(join(dir, "dump.rdb"), rdb);
  const restorePort = freePort();
  const server = new Deno.Command("redis-server", {
    args: [
      "--port",
      String(restorePort),
      "--bind",
      "127.0.0.1",
      "--dir",
      dir,
      "--dbfilename",
      "dump.rdb",
      "--save",
      "",
      "--appendonly",
      "no",
    ],
    stdout: "null",
    stderr: "null",
  }).spawn();
  await waitForPort(restorePort, 20_000, "restored redis-server");
  const redis = new Redis({ host: "127.0.0.1", port: restorePort, db: DB, lazyConnect: true });
  redis.on("error", () => {});
  await redis.connect();
  // Loading a large RDB takes a moment: wait until it answers.
  for (let i = 0; i < 100; i++) {
    try {
      await redis.ping();
      break;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return {
    redis,
    stop: async () => {
      redis.disconnect();
      server.kill("SIGKILL");
      await server.status;
    },
  };
}

for (const mode of ["disk", "diskless"] as const) {
  Deno.test(`SYNC snapshot (${mode}) restores with every key`, async () => {
    await seed();
    const rdb = await dumpWith(mode);
    assertMatch(new TextDecoder().decode(rdb.subarray(0, 9)), /^REDIS\d{4}$/);
    const trailer = new RdbTrailer();
    trailer.update(rdb);
    assertEquals(trailer.problem(), null);
    await using dir = await tempDir("backupy-redis-restore-");
    const { redis, stop } = await restore(rdb, dir.path);
    try {
      assertEquals(await redis.dbsize(), 20_009);
      assertEquals(await redis.get("key:12345"), `value 12345 ${"x".repeat(12345 % 300)}`);
      assertEquals(await redis.hgetall("user:1"), { name: "Ada", email: "ada@example.com" });
      assertEquals(await redis.lrange("queue", 0, -1), ["a", "b", "c"]);
      assertEquals(
        new Uint8Array(await redis.getBuffer("binary") as Uint8Array),
        Uint8Array.from({ length: 256 }, (_, i) => i),
      );
      assert((await redis.ttl("expiring")) > 3000, "TTLs survive");
      assertEquals(await redis.zrange("scores", 0, -1, "WITHSCORES"), [
        "minus-three",
        "-3",
        "one",
        "1",
        "two-and-a-half",
        "2.5",
      ]);
      assertEquals((await redis.xrange("events", "-", "+")).length, 2);
      const groups = await redis.xinfo("GROUPS", "events") as unknown[][];
      assertEquals(groups.length, 1);
      assertEquals(groups[0][groups[0].indexOf("pending") + 1], 1);
      assertEquals(await redis.strlen("large"), 5 * 1024 * 1024);
      assertEquals(await redis.get(Buffer.from([0, 255, 10, 13, 0x80])), "binary key");
      await redis.select(DB + 1);
      assertEquals(await redis.get("in-db-10"), "yes");
    } finally {
      await stop();
    }
  });
}

Deno.test("version and size estimate come from the server", async () => {
  const engine = new RedisEngine({ hostname, port, tls: false });
  assertMatch(await engine.version(), /^Redis \d+\.\d+\.\d+$/);
  assert(((await engine.estimateSize()) ?? 0) > 0);
});

Deno.test("an ACL user with only sync, replconf and info can dump; a wrong password is refused without echo", async () => {
  const admin = client(0);
  await admin.connect();
  const password = "s3cret-acl-password";
  await admin.call(
    "ACL",
    "SETUSER",
    "backupy-sync",
    "on",
    `>${password}`,
    "-@all",
    "+sync",
    "+replconf",
    "+info",
    "+psync",
  );
  try {
    await seed();
    const engine = new RedisEngine({
      hostname,
      port,
      tls: false,
      username: "backupy-sync",
      password: new Secret(password),
    });
    assertMatch(await engine.version(), /^Redis /);
    const rdb = await dumpWith("diskless", engine);
    const trailer = new RdbTrailer();
    trailer.update(rdb);
    assertEquals(trailer.problem(), null);

    const wrong = new RedisEngine({
      hostname,
      port,
      tls: false,
      username: "backupy-sync",
      password: new Secret("nope-wrong-pw"),
    });
    const error = await assertRejects(
      () => wrong.dump(new AbortController().signal),
      DumpError,
      "refused the credentials",
    );
    assert(!error.message.includes("nope-wrong-pw"));
  } finally {
    await admin.call("ACL", "DELUSER", "backupy-sync");
    admin.disconnect();
  }
});

Deno.test("a closed port is a clear error", async () => {
  const engine = new RedisEngine({ hostname: "127.0.0.1", port: 1, tls: false });
  await assertRejects(
    () => engine.dump(new AbortController().signal),
    DumpError,
    "cannot connect to Redis at 127.0.0.1:1",
  );
});

Deno.test("local mode backs up redis:// with REDISCLI_AUTH, restorable after decrypt", async () => {
  await seed();
  await using dir = await tempDir("backupy-redis-local-");
  const admin = client(0);
  await admin.connect();
  await admin.call(
    "ACL",
    "SETUSER",
    "backupy-local",
    "on",
    ">local-pw-123",
    "-@all",
    "+sync",
    "+replconf",
    "+info",
    "+psync",
  );
  try {
    const out = join(dir.path, "r.enc");
    const key = join(dir.path, "r.key");
    const result = await runAgent(
      [
        "backup",
        "--target",
        `redis://backupy-local@${hostname}:${port}`,
        "--out",
        out,
        "--generate-key",
        key,
      ],
      { REDISCLI_AUTH: "local-pw-123" },
    );
    assertEquals(result.code, 0, result.stderr);
    assertStringIncludes(result.stderr, "OK: backed up Redis ");
    assert(!result.stderr.includes("local-pw-123"));
    const command = /restore: (backupy-decrypt .*)$/m.exec(result.stderr)![1];
    const rdbPath = join(dir.path, "restored.rdb");
    const decrypted = await runDecrypt(
      command.split(" ").slice(1).map((a) => a === "RESTORED_FILE" ? rdbPath : a),
    );
    assertEquals(decrypted.code, 0, decrypted.stderr);
    await using restoreDir = await tempDir("backupy-redis-restore-");
    const { redis, stop } = await restore(await Deno.readFile(rdbPath), restoreDir.path);
    try {
      assertEquals(await redis.dbsize(), 20_009);
    } finally {
      await stop();
    }
  } finally {
    await admin.call("ACL", "DELUSER", "backupy-local");
    admin.disconnect();
  }
});

Deno.test("a writer during the snapshot: the RDB is one point in time", async () => {
  await seed();
  const writer = client();
  await writer.connect();
  let stop = false;
  let pairs = 0;
  const writing = (async () => {
    for (let n = 0; !stop; n++) {
      // Both keys of a pair in one transaction: a snapshot has both or neither.
      await writer.multi().set(`pair:a:${n}`, n).set(`pair:b:${n}`, n).incr("pairs").exec();
      pairs++;
    }
  })();
  await new Promise((r) => setTimeout(r, 50));
  const rdb = await dumpWith("diskless");
  stop = true;
  await writing;
  writer.disconnect();
  assert(pairs > 0);
  await using dir = await tempDir("backupy-redis-restore-");
  const { redis, stop: stopServer } = await restore(rdb, dir.path);
  try {
    const counted = Number(await redis.get("pairs") ?? 0);
    const a = (await redis.keys("pair:a:*")).length;
    const b = (await redis.keys("pair:b:*")).length;
    assertEquals([a, b], [counted, counted], "every transaction whole, none half");
  } finally {
    await stopServer();
  }
});

Deno.test("rediss:// with the server's CA (?ssl-ca=), and a clear failure with another CA", async () => {
  const tls = Deno.env.get("BACKUPY_TEST_TLS_DIR") ?? "/var/lib/backupy-test-tls";
  await using dir = await tempDir("backupy-redis-tls-");
  const tlsPort = freePort();
  const server = new Deno.Command("redis-server", {
    args: [
      "--port",
      "0",
      "--tls-port",
      String(tlsPort),
      "--bind",
      "127.0.0.1",
      "--dir",
      dir.path,
      "--save",
      "",
      "--tls-cert-file",
      `${tls}/server.pem`,
      "--tls-key-file",
      `${tls}/server-key.pem`,
      "--tls-ca-cert-file",
      `${tls}/ca.pem`,
      "--tls-auth-clients",
      "no",
      "--repl-diskless-sync-delay",
      "0",
    ],
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    await waitForPort(tlsPort, 20_000, "TLS redis-server");
    const target = (ca: string) => `rediss://127.0.0.1:${tlsPort}?ssl-ca=${ca}`;
    const ok = await runAgent([
      "backup",
      "--target",
      target(`${tls}/ca.pem`),
      "--out",
      join(dir.path, "t.enc"),
      "--generate-key",
      join(dir.path, "t.key"),
    ]);
    assertEquals(ok.code, 0, ok.stderr);
    assertStringIncludes(ok.stderr, "OK: backed up Redis ");
    const wrong = await runAgent([
      "backup",
      "--target",
      target(`${tls}/other-ca.pem`),
      "--out",
      join(dir.path, "w.enc"),
      "--generate-key",
      join(dir.path, "w.key"),
    ]);
    assertEquals(wrong.code, 1);
    assert(
      !(await Array.fromAsync(Deno.readDir(dir.path))).some((e) => e.name.startsWith("w.")),
      "nothing left on failure",
    );
  } finally {
    server.kill("SIGKILL");
    await server.status;
  }
});

Deno.test("a server that closes mid-stream and wrong credentials fail local mode with no output", async () => {
  await using dir = await tempDir("backupy-redis-fail-");
  const rdbStart = new TextEncoder().encode("REDIS0011\u00fa\u0009redis-ver\u00057.2.4");
  await using truncated = fakeRedis([`$100000\r\n`, rdbStart]);
  const cut = await runAgent([
    "backup",
    "--target",
    `redis://127.0.0.1:${truncated.port}`,
    "--out",
    join(dir.path, "cut.enc"),
    "--generate-key",
    join(dir.path, "cut.key"),
  ]);
  assertEquals(cut.code, 1);
  assertStringIncludes(cut.stderr, "Redis closed the connection");
  await using locked = fakeRedis([], { password: "right-password" });
  const denied = await runAgent(
    [
      "backup",
      "--target",
      `redis://127.0.0.1:${locked.port}`,
      "--out",
      join(dir.path, "auth.enc"),
      "--generate-key",
      join(dir.path, "auth.key"),
    ],
    { REDISCLI_AUTH: "wrong-password-77" },
  );
  assertEquals(denied.code, 1);
  assert(!denied.stderr.includes("wrong-password-77"));
  assertEquals((await Array.fromAsync(Deno.readDir(dir.path))).length, 0, "no output, no key left");
});
