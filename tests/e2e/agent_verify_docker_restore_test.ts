/**
 * `backupy-agent verify --level restore --docker-image IMAGE` as a user runs
 * it: a native PostgreSQL and a native MariaDB backup restored with the
 * engine's own client inside a throwaway container of the test images (no
 * network), re-read with the engine's own dump tool and compared with the
 * manifest; a Redis snapshot loaded by Redis; the container is gone
 * afterwards, also when verify is interrupted; a missing image and a
 * snapshot Redis cannot load are clear failures.
 */
import { join } from "node:path";
import { tempDir } from "../support/agent_fixtures.ts";
import { assert, assertEquals, assertMatch, assertStringIncludes } from "../support/assert.ts";
import { docker, DOCKER_SOCKET, IMAGES, startContainer } from "../support/docker_fixtures.ts";
import { agentArgv, runAgent } from "../support/programs.ts";
import { mariadb, psql, TEST_PASSWORD } from "../support/sql_clients.ts";
import { compress, encryptV1, sha256Hex } from "../support/v1_fixtures.ts";
import { Crc64Jones } from "../../agent/bytes/crc64.ts";
import { hasEnded, ownIdentity } from "../../agent/host/process_identity.ts";

const PASSWORD = TEST_PASSWORD;
const DOCKER_ENV = { BACKUPY_DOCKER_SOCKET: DOCKER_SOCKET };

async function tool(command: string, args: string[], env: Record<string, string>) {
  const out = await new Deno.Command(command, { args, env, stdout: "piped", stderr: "piped" })
    .output();
  if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
}
/**
 * Verify containers whose verify process has ended: left behind (there must
 * be none). Others are those of verifies still running, in parallel tests too.
 */
async function leftBehind(): Promise<string[]> {
  const list = await docker.listContainers({
    all: true,
    filters: { label: ["backupy.verify=restore"] },
  });
  return list.filter((c) => hasEnded(c.Labels["backupy.verify.process"] ?? "") === true)
    .map((c) => c.Id);
}

/** The labels of a throwaway container made by the process `owner` (HOST/PID/BOOT). */
function verifyOwner(owner: string): Record<string, string> {
  return { "backupy.verify.pid": owner.split("/")[1], "backupy.verify.process": owner };
}

/** Where `needle` first stands in `haystack`, or -1. */
function indexOf(haystack: Uint8Array, needle: Uint8Array): number {
  outer: for (let at = 0; at + needle.length <= haystack.length; at++) {
    for (let i = 0; i < needle.length; i++) if (haystack[at + i] !== needle[i]) continue outer;
    return at;
  }
  return -1;
}

/** The verify containers `pid` made that still exist. */
async function containersOf(pid: number): Promise<string[]> {
  const list = await docker.listContainers({
    all: true,
    filters: { label: [`backupy.verify.pid=${pid}`] },
  });
  return list.map((c) => c.Id);
}

async function backup(dir: string, target: string, env: Record<string, string> = {}) {
  const out = join(dir, "db.enc");
  const key = join(dir, "db.key");
  const made = await runAgent(
    ["backup", "--target", target, "--out", out, "--generate-key", key, "--json"],
    env,
  );
  assertEquals(made.code, 0, made.stderr);
  const { sha256 } = JSON.parse(new TextDecoder().decode(made.stdout));
  return { out, key, sha256: sha256 as string };
}

function verifyArgs(
  backup: { out: string; key: string; sha256: string },
  image: string,
): string[] {
  return [
    "verify",
    "--in",
    backup.out,
    "--key-file",
    backup.key,
    "--sha256",
    backup.sha256,
    "--level",
    "restore",
    "--docker-image",
    image,
  ];
}

Deno.test("verify --docker-image: PostgreSQL restored with psql in a throwaway container, re-read with pg_dump", async () => {
  const source = `backupy_docker_src_${crypto.randomUUID().slice(0, 8)}`;
  await psql(`CREATE DATABASE ${source}`);
  await using dir = await tempDir("backupy-verify-docker-pg-");
  try {
    await psql(
      `CREATE TABLE "Mixed Case" (id int PRIMARY KEY, at timestamptz, i interval, f float8,
         b bytea, n numeric, j jsonb, t text);
       INSERT INTO "Mixed Case" SELECT g, '2026-01-01 12:00+03'::timestamptz + g * interval '1 min',
         g * interval '1 day 2 hours', g / 3.0, decode(md5(g::text), 'hex'), g * 1.25,
         jsonb_build_object('g', g), E'line\\nnext\\ttab ''q'' ' || g
         FROM generate_series(1, 3000) g;
       INSERT INTO "Mixed Case" (id) VALUES (0);
       CREATE TABLE empty_one (id int);`,
      source,
    );
    const made = await backup(dir.path, `postgres://backupy@127.0.0.1:5432/${source}`, {
      PGPASSWORD: PASSWORD,
    });
    const verified = await runAgent(verifyArgs(made, IMAGES.postgres), DOCKER_ENV);
    assertEquals(verified.code, 0, verified.stderr);
    assertMatch(
      verified.stderr,
      /restore: restored in a container of postgres:backupy-test .* s \([\d.]+ MiB\) and read back .* 2 objects equal the manifest's/,
    );
    assertEquals(await leftBehind(), [], "the container was removed");
    assertEquals(verified.stderr.includes(PASSWORD), false);

    // Interrupted while the container runs: it is removed all the same.
    const [command, args] = agentArgv(verifyArgs(made, IMAGES.postgres));
    const child = new Deno.Command(command, {
      args,
      env: DOCKER_ENV,
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const deadline = Date.now() + 60_000;
    while ((await containersOf(child.pid)).length === 0) {
      assert(Date.now() < deadline, "the container never started");
      await new Promise((r) => setTimeout(r, 100));
    }
    child.kill("SIGTERM");
    const status = await child.output();
    assert(status.code !== 0, "an interrupted verify does not claim success");
    assertEquals(await containersOf(child.pid), [], "removed after SIGTERM too");

    // An image that is not there is a failed restore that says so.
    const missing = await runAgent(verifyArgs(made, "backupy-test/no-such-image:1"), DOCKER_ENV);
    assertEquals(missing.code, 1);
    assertStringIncludes(
      missing.stderr,
      "cannot create a container of backupy-test/no-such-image:1",
    );
    // --docker-image is for the restore level only.
    const misuse = await runAgent(
      ["verify", "--in", made.out, "--key-file", made.key, "--docker-image", IMAGES.postgres],
      DOCKER_ENV,
    );
    assertEquals(misuse.code, 2);
    assertStringIncludes(misuse.stderr, "--docker-image goes with --level restore");
    const both = await runAgent(
      [...verifyArgs(made, IMAGES.postgres), "--scratch", "postgres://x@127.0.0.1/"],
      DOCKER_ENV,
    );
    assertEquals(both.code, 2);
    assertStringIncludes(both.stderr, "give --scratch or --docker-image, not both");
  } finally {
    await psql(`DROP DATABASE IF EXISTS ${source} WITH (FORCE)`);
  }
});

Deno.test("verify --docker-image: MariaDB restored with its client in a throwaway container, re-read with mariadb-dump", async () => {
  const source = `backupy_docker_src_${crypto.randomUUID().slice(0, 8)}`;
  await mariadb(
    `CREATE DATABASE ${source}; USE ${source};
     CREATE TABLE items (id INT PRIMARY KEY, name VARCHAR(80), data BLOB, flags BIT(5),
       at DATETIME(3), price DECIMAL(10,2), ratio DOUBLE, note TEXT);
     INSERT INTO items SELECT seq, CONCAT('it''s "', seq, '"\\n'), UNHEX(MD5(seq)), seq % 32,
       TIMESTAMP('2026-01-01 00:00:00.123') + INTERVAL seq MINUTE, seq * 1.25, seq / 7, NULL
       FROM seq_1_to_2000;
     INSERT INTO items (id, data) VALUES (0, '');
     CREATE TABLE empty_one (id INT);`,
  );
  await using dir = await tempDir("backupy-verify-docker-maria-");
  try {
    const made = await backup(dir.path, `mariadb://backupy@127.0.0.1:3306/${source}`, {
      MYSQL_PWD: PASSWORD,
    });
    const verified = await runAgent(verifyArgs(made, IMAGES.mariadb), DOCKER_ENV);
    assertEquals(verified.code, 0, verified.stderr);
    assertMatch(
      verified.stderr,
      /restore: restored in a container of mariadb:backupy-test .* s \([\d.]+ MiB\) and read back .* 2 objects equal the manifest's/,
    );
    assertEquals(await leftBehind(), [], "the container was removed");
  } finally {
    await mariadb(`DROP DATABASE IF EXISTS ${source}`);
  }
});

Deno.test("verify --docker-image: a Redis snapshot is loaded by Redis in a throwaway container; one it cannot load fails", async () => {
  const prefix = `backupy-docker-restore-${crypto.randomUUID().slice(0, 8)}`;
  const redis = (...args: string[]) => tool("redis-cli", ["-n", "13", ...args], {});
  await redis("eval", `for i=1,500 do redis.call('SET', ARGV[1]..i, i) end`, "0", prefix);
  await using dir = await tempDir("backupy-verify-docker-redis-");
  // Throwaway containers as verifies left them: one whose verify was killed, one of a
  // verify still running (this test), one made by an agent in another container.
  // Only the first is the next verify's to remove.
  const [host, , boot] = ownIdentity()!.split("/");
  const ended = new Deno.Command("true").spawn();
  await ended.status;
  const leftover = async (owner: string) =>
    (await docker.createContainer({
      Image: IMAGES.base,
      Cmd: ["true"],
      Labels: { "backupy.test": "true", "backupy.verify": "restore", ...verifyOwner(owner) },
    })).id;
  const killed = await leftover(`${host}/${ended.pid}/${boot}`);
  const running = await leftover(`${host}/${Deno.pid}/${boot}`);
  const elsewhere = await leftover(`another-host/${ended.pid}/${boot}`);
  try {
    const made = await backup(dir.path, "redis://127.0.0.1:6379");
    const verified = await runAgent(verifyArgs(made, IMAGES.redis), DOCKER_ENV);
    assertEquals(verified.code, 0, verified.stderr);
    const remaining = (await docker.listContainers({ all: true })).map((c) => c.Id);
    assertEquals(
      [killed, running, elsewhere].map((id) => remaining.includes(id)),
      [false, true, true],
      "the verify removed the leftover of a killed verify, and only that",
    );
    assertMatch(
      verified.stderr,
      /restore: loaded by Redis in a container of redis:backupy-test .* and read back: \d+ databases' keys equal the manifest's/,
    );
    assertMatch(
      verified.stderr,
      /manifest: \d+ objects: row counts and digests equal .*repl_offset \d+/,
    );
    assertMatch(verified.stderr, /db13: \d+/);
    assertEquals(await leftBehind(), [], "the container was removed");

    const plain = join(dir.path, "plain.rdb");
    await tool("redis-cli", ["--rdb", plain], {});
    const rdb = await Deno.readFile(plain);
    /** `body` + EOF + a fresh CRC, encrypted: a file whose checksum vouches for it. */
    const sealed = async (name: string, body: Uint8Array) => {
      const withEof = new Uint8Array(body.length + 1);
      withEof.set(body);
      withEof[body.length] = 0xff;
      const crc = new Crc64Jones();
      crc.update(withEof);
      const file = new Uint8Array(withEof.length + 8);
      file.set(withEof);
      new DataView(file.buffer).setBigUint64(withEof.length, crc.value(), true);
      const dek = crypto.getRandomValues(new Uint8Array(32));
      const encrypted = await encryptV1(compress(file, "zstd"), { dek });
      await Deno.writeFile(join(dir.path, `${name}.enc`), encrypted);
      await Deno.writeTextFile(join(dir.path, `${name}.key`), dek.toHex());
      return {
        out: join(dir.path, `${name}.enc`),
        key: join(dir.path, `${name}.key`),
        sha256: sha256Hex(encrypted),
      };
    };

    // Cut short inside one of this test's key names (long, so more than the 9 bytes of EOF
    // and CRC that follow), closed with a fresh EOF and CRC: the checksum is right, and the
    // walk of its entries still finds the cut, wherever other tests' keys put it.
    const keyAt = indexOf(rdb, new TextEncoder().encode(`${prefix}250`));
    assert(keyAt > 0, "the snapshot holds this test's keys");
    const cut = await sealed("cut", rdb.subarray(0, keyAt + 5));
    const cutReport = await runAgent(verifyArgs(cut, IMAGES.redis), DOCKER_ENV);
    assertEquals(cutReport.code, 1, cutReport.stderr);
    assertMatch(cutReport.stderr, /FAIL dump: its entries (do not read to their end|end at byte)/);
    assertMatch(cutReport.stderr, /FAIL restore: not attempted/);

    // A format version no Redis 7 reads: whole by every check here, refused by the server.
    const future = rdb.slice(0, rdb.length - 9);
    future.set(new TextEncoder().encode("0099"), 5);
    const failed = await runAgent(
      verifyArgs(await sealed("future", future), IMAGES.redis),
      DOCKER_ENV,
    );
    assertEquals(failed.code, 1, failed.stderr);
    assertMatch(failed.stderr, /ok {3}dump: Redis RDB snapshot, whole/);
    // However the stop is seen (before or while probing), the same report, with Redis's reason.
    assertMatch(
      failed.stderr,
      /FAIL restore: the restore failed: the container stopped before its server came up; its last words: .*RDB format version/,
    );
    assertEquals(await leftBehind(), [], "removed after a failed load too");
  } finally {
    await redis("eval", `for i=1,500 do redis.call('DEL', ARGV[1]..i) end`, "0", prefix);
    for (const id of [killed, running, elsewhere]) {
      await docker.getContainer(id).remove({ force: true }).catch(() => {});
    }
  }
});

Deno.test("verify --docker-image: a DOCKER_EXEC MariaDB backup (mariadb-dump --hex-blob) has a manifest read from its bytes and restores", async () => {
  const password = `maria-${crypto.randomUUID()}`;
  await using maria = await startContainer({
    image: IMAGES.mariadb,
    name: "verify-maria",
    env: { MARIADB_ROOT_PASSWORD: password, MARIADB_DATABASE: "shop" },
  });
  await maria.run([
    "mariadb",
    "-uroot",
    "shop",
    "-e",
    `CREATE TABLE items (id INT PRIMARY KEY, data BLOB, flags BIT(3), note TEXT);
     INSERT INTO items VALUES (1, 0x00FF10, b'101', 'it''s'), (2, '', b'0', NULL), (3, NULL, NULL, 'x');`,
  ], { MYSQL_PWD: password });
  await using dir = await tempDir("backupy-verify-docker-exec-maria-");
  const made = await backup(dir.path, `docker://${maria.name}/shop`, {
    DOCKER_HOST: `unix://${DOCKER_SOCKET}`,
  });
  const manifest = await runAgent([
    "verify",
    "--in",
    made.out,
    "--key-file",
    made.key,
    "--level",
    "manifest",
  ]);
  assertEquals(manifest.code, 0, manifest.stderr);
  assertMatch(manifest.stderr, /`items`: 3/);
  const verified = await runAgent(verifyArgs(made, IMAGES.mariadb), DOCKER_ENV);
  assertEquals(verified.code, 0, verified.stderr);
  assertStringIncludes(verified.stderr, "objects equal the manifest's");
  assertEquals(verified.stderr.includes(password), false);
});
