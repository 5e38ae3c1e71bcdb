/**
 * The replication handshake and both RDB framings against a scripted fake
 * server: keep-alive newlines before the preamble, an EOF mark split across
 * TCP writes, bytes after the mark, a refused SYNC, a short $len body; and
 * the RDB trailer check.
 */
import { assertEquals, assertRejects } from "../support/assert.ts";
import { syncSnapshot } from "../../agent/engines/redis/redis_sync.ts";
import { RdbTrailer } from "../../agent/engines/redis/rdb_format.ts";
import { DumpError } from "../../agent/engines/shared/engine.ts";
import { Crc64Jones } from "../../agent/bytes/crc64.ts";
import { Secret } from "../../decrypt/secret.ts";
import { fakeRedis } from "../support/fake_redis.ts";

/** A tiny valid RDB: header, EOF opcode, CRC-64. */
function rdb(body = "REDIS0011\u00fa\u0003abc"): Uint8Array {
  const head = new Uint8Array([...new TextEncoder().encode(body), 0xff]);
  const crc = new Crc64Jones();
  crc.update(head);
  const tail = new Uint8Array(8);
  new DataView(tail.buffer).setBigUint64(0, crc.value(), true);
  return new Uint8Array([...head, ...tail]);
}

async function take(port: number, password?: string): Promise<Uint8Array> {
  const stream = await syncSnapshot(
    {
      hostname: "127.0.0.1",
      port,
      tls: false,
      password: password ? new Secret(password) : undefined,
    },
    new AbortController().signal,
  );
  return await new Response(stream).bytes();
}

Deno.test("diskless: keep-alive newlines, a mark split across writes, bytes after it", async () => {
  const body = rdb();
  const mark = "0123456789abcdef0123456789abcdef01234567";
  await using server = fakeRedis([
    "\n",
    "\n",
    `$EOF:${mark}\r\n`,
    body.subarray(0, 5),
    new Uint8Array([...body.subarray(5), ...new TextEncoder().encode(mark.slice(0, 17))]),
    mark.slice(17),
    "*1\r\n$4\r\nPING\r\n", // the replication stream that follows without rdb-only
  ], { password: "pw", rdbOnlyUnknown: true });
  assertEquals(await take(server.port, "pw"), body);
  assertEquals(server.commands, ["AUTH ***", "REPLCONF capa eof", "REPLCONF rdb-only 1", "SYNC"]);
});

Deno.test("disk: $len and exactly that many bytes", async () => {
  const body = rdb("REDIS0009" + "x".repeat(100_000));
  await using server = fakeRedis([
    `$${body.length}\r\n`,
    body.subarray(0, 70_000),
    body.subarray(70_000),
  ]);
  assertEquals(await take(server.port), body);
});

Deno.test("a short body, a refused SYNC and wrong credentials are errors", async () => {
  await using short = fakeRedis(["$100\r\n", "only a few bytes"]);
  await assertRejects(() => take(short.port), DumpError, "bytes before the end of the RDB");
  await using refused = fakeRedis([
    "-NOMASTERLINK Can't SYNC while not connected with my master\r\n",
  ]);
  await assertRejects(() => take(refused.port), DumpError, "refused SYNC: NOMASTERLINK");
  await using auth = fakeRedis([], { password: "right" });
  const error = await assertRejects(
    () => take(auth.port, "wrong-password-x"),
    DumpError,
    "refused the credentials",
  );
  assertEquals(error.message.includes("wrong-password-x"), false);
});

Deno.test("RDB trailer: complete, zero checksum, corrupted, truncated", () => {
  const check = (bytes: Uint8Array, split = 3) => {
    const trailer = new RdbTrailer();
    for (let at = 0; at < bytes.length; at += split) trailer.update(bytes.subarray(at, at + split));
    return trailer.problem();
  };
  const good = rdb();
  assertEquals(check(good), null);
  assertEquals(check(good, 1), null);
  const zero = good.slice();
  zero.fill(0, zero.length - 8);
  assertEquals(check(zero), null);
  const flipped = good.slice();
  flipped[10] ^= 1;
  assertEquals(check(flipped)?.startsWith("RDB checksum mismatch"), true);
  assertEquals(check(good.subarray(0, good.length - 3))?.includes("truncated"), true);
});
