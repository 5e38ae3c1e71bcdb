/**
 * The DOCKER_EXEC strategy against a real Docker engine (tests/services.sh)
 * and containers of the images tests/docker_images.sh builds: each engine's
 * own tool dumps inside its container, the dump is restored with the
 * engine's own tool on the host and compared; no password shows in any
 * process's argv; wrong passwords, a container stopped mid-dump and a
 * cancelled dump fail cleanly and leave no tool running.
 */
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { DockerHost } from "../../agent/docker/docker_host.ts";
import type { ExecTarget } from "../../agent/engines/shared/docker_exec_engine.ts";
import { DockerExecRedisEngine } from "../../agent/engines/redis/docker_exec_redis.ts";
import type {
  DumpOptions,
  DumpStream,
  Engine,
  EngineName,
} from "../../agent/engines/shared/engine.ts";
import { createDockerExecEngine } from "../../agent/engines/registry.ts";
import { HeaderCheckStream } from "../../agent/engines/shared/header_check_stream.ts";
import { Secret } from "../../decrypt/secret.ts";
import { makeSqliteDatabase, readItems, tempDir } from "../support/agent_fixtures.ts";
import { assert, assertEquals, assertMatch, assertRejects } from "../support/assert.ts";
import {
  commandLinesContaining,
  docker,
  DOCKER_SOCKET,
  IMAGES,
  processesMatching,
  startContainer,
} from "../support/docker_fixtures.ts";
import { waitUntil } from "../support/wait.ts";
import { startRedis } from "../support/redis_server.ts";

const host = new DockerHost(DOCKER_SOCKET);

function target(container: string, fields: Partial<ExecTarget> = {}): ExecTarget {
  return { container, host: "", port: 0, database: "", username: "", ...fields };
}

/** Reads a whole dump (header-checked, like the pipeline) into a file. */
async function dumpToFile(
  engine: Engine,
  path: string,
  options: DumpOptions = {},
): Promise<number> {
  const dump = await engine.dump(new AbortController().signal, options);
  const file = await Deno.open(path, { write: true, create: true, truncate: true });
  let bytes = 0;
  await dump.readable.pipeThrough(new HeaderCheckStream(engine.format)).pipeThrough(
    new TransformStream({
      transform(chunk, controller) {
        bytes += chunk.length;
        controller.enqueue(chunk);
      },
    }),
  ).pipeTo(file.writable);
  await dump.finished;
  return bytes;
}

/** Runs a host command; returns stdout, throws with stderr. */
async function run(argv: string[], env: Record<string, string> = {}, stdin?: Uint8Array) {
  const child = new Deno.Command(argv[0], {
    args: argv.slice(1),
    env,
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(stdin);
    await writer.close();
  }
  const out = await child.output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  if (!out.success) throw new Error(`${argv.join(" ")} failed: ${text(out.stderr)}`);
  return text(out.stdout);
}

/** Watches every process's argv on the host until stopped; returns what matched. */
function watchArgv(needles: string[]): { stop(): Promise<{ scans: number; hits: string[] }> } {
  let running = true;
  let scans = 0;
  const hits: string[] = [];
  const loop = (async () => {
    while (running) {
      hits.push(...await commandLinesContaining(needles));
      scans++;
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return { scans, hits };
    },
  };
}

/** Reads some of a dump, then leaves it unread (the tool blocks on a full pipe). */
async function readSome(dump: DumpStream, bytes: number) {
  const reader = dump.readable.getReader();
  let seen = 0;
  while (seen < bytes) {
    const { value, done } = await reader.read();
    if (done) throw new Error("the dump ended too early for this test");
    seen += value.length;
  }
  return reader;
}

const PG_PASSWORD = `pg-${crypto.randomUUID()}`;
const PG_FIXTURE = `
CREATE TABLE accounts (id integer PRIMARY KEY, name text NOT NULL, balance numeric(12,2), tags text[]);
INSERT INTO accounts SELECT g, 'käyttäjä ' || g || ' ' || md5(g::text), g * 1.25, ARRAY['a', 'b' || g]
  FROM generate_series(1, 300000) g;
CREATE VIEW rich AS SELECT id, name FROM accounts WHERE balance > 1000;
CREATE FUNCTION twice(x integer) RETURNS integer LANGUAGE sql IMMUTABLE AS 'SELECT x * 2';
`;
const PG_DIGEST =
  "SELECT count(*) || ':' || md5(string_agg(id || name || balance || array_to_string(tags, ','), '|' ORDER BY id)) FROM accounts";

Deno.test("DOCKER_EXEC PostgreSQL: pg_dump -Fc in the container", async (t) => {
  await using pg = await startContainer({
    image: IMAGES.postgres,
    name: "backupy-pg",
    env: { POSTGRES_USER: "app", POSTGRES_PASSWORD: PG_PASSWORD, POSTGRES_DB: "shop" },
  });
  const psqlEnv = { PGPASSWORD: PG_PASSWORD, PGUSER: "app", PGDATABASE: "shop" };
  await pg.run(["psql", "-Xq", "-v", "ON_ERROR_STOP=1", "-c", PG_FIXTURE], psqlEnv);
  const sourceDigest = (await pg.run(["psql", "-XtAc", PG_DIGEST], psqlEnv)).trim();

  for (const compressedDownstream of [false, true]) {
    await t.step(
      `credentials from the container's env; restores with pg_restore (${
        compressedDownstream ? "-Z0, compressed by the pipeline" : "pg_dump's own compression"
      })`,
      async () => {
        await using dir = await tempDir("backupy-docker-pg-");
        const engine = await createDockerExecEngine("postgresql", host, target(pg.name));
        assertMatch(await engine.version(), /^PostgreSQL 15\.\d+$/);
        const estimate = await engine.estimateSize();
        assert(estimate !== undefined && estimate > 10_000_000, `estimate ${estimate}`);
        const watch = watchArgv([PG_PASSWORD]);
        const file = join(dir.path, "shop.pgdump");
        const bytes = await dumpToFile(engine, file, { compressedDownstream });
        const { scans, hits } = await watch.stop();
        assert(bytes > 1_000_000, `dumped ${bytes} bytes`);
        assert(scans > 0, "the argv watch never ran");
        assertEquals(hits, [], "a password appeared in a process's argv");

        const restored = `backupy_docker_${crypto.randomUUID().slice(0, 8)}`;
        const hostEnv = {
          PGHOST: "127.0.0.1",
          PGUSER: "backupy",
          PGPASSWORD: "backupy-test-pw",
          PGDATABASE: "postgres",
        };
        await run(["psql", "-Xqc", `CREATE DATABASE ${restored}`], hostEnv);
        try {
          await run(["pg_restore", "--no-owner", "--exit-on-error", "-d", restored, file], hostEnv);
          const digest = await run(["psql", "-XtAc", PG_DIGEST], {
            ...hostEnv,
            PGDATABASE: restored,
          });
          assertEquals(digest.trim(), sourceDigest);
          const twice = await run(["psql", "-XtAc", "SELECT twice(21)"], {
            ...hostEnv,
            PGDATABASE: restored,
          });
          assertEquals(twice.trim(), "42");
        } finally {
          await run(["psql", "-Xqc", `DROP DATABASE IF EXISTS ${restored}`], hostEnv);
        }
      },
    );
  }

  await t.step(
    "a wrong password fails with the server's reason, without the password",
    async () => {
      const wrong = `wrong-${crypto.randomUUID()}`;
      const engine = await createDockerExecEngine(
        "postgresql",
        host,
        target(pg.id, { username: "app", password: new Secret(wrong) }),
      );
      const error = await assertRejects(() => engine.version());
      assertMatch(error.message, /password authentication failed for user "app"/);
      assert(!error.message.includes(wrong) && !error.message.includes(PG_PASSWORD));
      const dump = await engine.dump(new AbortController().signal);
      const drained = dump.readable.pipeTo(new WritableStream()).catch((e) => e);
      const failure = await assertRejects(() => dump.finished);
      assertMatch(
        failure.message,
        /pg_dump exited with status 1: .*password authentication failed/,
      );
      await drained;
    },
  );

  await t.step("cancelling the dump kills pg_dump inside the container", async () => {
    const engine = await createDockerExecEngine("postgresql", host, target(pg.name));
    const abort = new AbortController();
    const dump = await engine.dump(abort.signal);
    const reader = await readSome(dump, 64 * 1024);
    assertEquals((await processesMatching(pg.id, "pg_dump")).length, 1, "pg_dump is running");
    abort.abort();
    await reader.cancel();
    await assertRejects(() => dump.finished);
    await waitUntil(
      "pg_dump to end",
      async () => (await processesMatching(pg.id, "pg_dump")).length === 0,
      10_000,
      100,
    );
  });

  await t.step("the container stopped mid-dump fails the dump", async () => {
    const engine = await createDockerExecEngine("postgresql", host, target(pg.name));
    const dump = await engine.dump(new AbortController().signal);
    const reader = await readSome(dump, 64 * 1024);
    await docker.getContainer(pg.id).kill();
    const drained = (async () => {
      for (;;) if ((await reader.read()).done) return;
    })().catch((e) => e);
    const failure = await assertRejects(() => dump.finished);
    assertMatch(failure.message, /pg_dump (did not finish|exited with status)/);
    await drained;
  });
});

Deno.test("DOCKER_EXEC MariaDB: mariadb-dump in the container restores with the mariadb client", async () => {
  const rootPassword = `root-${crypto.randomUUID()}`;
  await using db = await startContainer({
    image: IMAGES.mariadb,
    name: "backupy-mariadb",
    env: { MARIADB_ROOT_PASSWORD: rootPassword, MARIADB_DATABASE: "shop" },
  });
  const fixture = `
CREATE TABLE items (id INT PRIMARY KEY, name VARCHAR(100) CHARACTER SET utf8mb4, price DECIMAL(10,2), data BLOB);
INSERT INTO items SELECT seq, CONCAT('tuote ', seq, ' ✓'), seq / 4, UNHEX(MD5(seq)) FROM seq_1_to_20000;
CREATE VIEW cheap AS SELECT id FROM items WHERE price < 10;
CREATE PROCEDURE touch_items() UPDATE items SET price = price;
CREATE TRIGGER items_guard BEFORE INSERT ON items FOR EACH ROW SET NEW.price = ABS(NEW.price);
`;
  await db.run(["mariadb", "--default-character-set=utf8mb4", "-uroot", "shop", "-e", fixture], {
    MYSQL_PWD: rootPassword,
  });
  const digestSql = "SET SESSION group_concat_max_len = 100000000; " +
    "SELECT COUNT(*), MD5(GROUP_CONCAT(id, HEX(name), price, HEX(data) ORDER BY id SEPARATOR '|')) FROM items";
  const sourceDigest = await db.run(
    ["mariadb", "--default-character-set=utf8mb4", "-uroot", "-N", "-B", "shop", "-e", digestSql],
    { MYSQL_PWD: rootPassword },
  );

  await using dir = await tempDir("backupy-docker-mariadb-");
  const engine = await createDockerExecEngine("mariadb", host, target(db.name));
  assertMatch(await engine.version(), /^MariaDB 10\.\d+\.\d+$/);
  const watch = watchArgv([rootPassword]);
  const file = join(dir.path, "shop.sql");
  await dumpToFile(engine, file);
  const { hits } = await watch.stop();
  assertEquals(hits, [], "a password appeared in a process's argv");
  // Bytes, not text: the dump holds BLOBs.
  const sql = await Deno.readFile(file);
  assert(
    !/CREATE DATABASE|^USE /m.test(new TextDecoder().decode(sql)),
    "a single-database dump names no database",
  );

  const restored = `backupy_docker_${crypto.randomUUID().slice(0, 8)}`;
  const hostEnv = { MYSQL_PWD: "backupy-test-pw" };
  const client = [
    "mariadb",
    "--default-character-set=utf8mb4",
    "--protocol=tcp",
    "-h",
    "127.0.0.1",
    "-u",
    "backupy",
  ];
  await run([...client, "-e", `CREATE DATABASE ${restored}`], hostEnv);
  try {
    await run([...client, restored], hostEnv, sql);
    const digest = await run(
      [...client, "-N", "-B", restored, "-e", digestSql],
      hostEnv,
    );
    assertEquals(digest, sourceDigest);
    const routines = await run(
      [
        ...client,
        "-N",
        "-B",
        "-e",
        `SELECT COUNT(*) FROM information_schema.routines WHERE routine_schema = '${restored}'`,
      ],
      hostEnv,
    );
    assertEquals(routines.trim(), "1");
  } finally {
    await run([...client, "-e", `DROP DATABASE IF EXISTS ${restored}`], hostEnv);
  }
});

Deno.test("DOCKER_EXEC Redis: redis-cli --rdb, to stdout and through a file, loads into redis-server", async (t) => {
  const password = `redis-${crypto.randomUUID()}`;
  await using redis = await startContainer({
    image: IMAGES.redis,
    name: "backupy-redis",
    env: { REDIS_PASSWORD: password },
  });
  const commands = Array.from({ length: 2000 }, (_, i) => `SET key:${i} "value ${i} ✓"`)
    .concat(["RPUSH list a b c", "HSET hash f1 v1 f2 v2"]).join("\n") + "\n";
  await redis.run(["sh", "-c", `printf '%s' '${commands}' | redis-cli > /dev/null`], {
    REDISCLI_AUTH: password,
  });

  for (const transfer of ["stdout", "file"] as const) {
    await t.step(`through ${transfer}`, async () => {
      await using dir = await tempDir("backupy-docker-redis-");
      const engine = await createDockerExecEngine("redis", host, target(redis.name));
      assert(engine instanceof DockerExecRedisEngine);
      engine.transfer = transfer;
      assertMatch(await engine.version(), /^Redis 7\.\d+\.\d+$/);
      const watch = watchArgv([password]);
      await dumpToFile(engine, join(dir.path, "dump.rdb"));
      assertEquals((await watch.stop()).hits, []);
      const leftovers = await redis.run(["sh", "-c", "ls /tmp | grep '^backupy-' || true"]);
      assertEquals(leftovers.trim(), "", "the temporary file in the container was removed");

      // A redis-server of its own loads the dump as it starts.
      await using loaded = await startRedis(dir.path, ["--dbfilename", "dump.rdb"]);
      await waitUntil(
        "the RDB to load",
        async () => (await loaded.cli("PING").catch(() => "")) === "PONG",
        10_000,
        100,
      );
      assertEquals(await loaded.cli("DBSIZE"), "2002");
      assertEquals(await loaded.cli("GET", "key:1999"), "value 1999 ✓");
      assertEquals(await loaded.cli("LRANGE", "list", "0", "-1"), "a\nb\nc");
    });
  }

  await t.step("a wrong password fails", async () => {
    const engine = await createDockerExecEngine(
      "redis",
      host,
      target(redis.id, { password: new Secret("not-the-password") }),
    );
    const error = await assertRejects(() => engine.version());
    assertMatch(error.message, /WRONGPASS|NOAUTH|invalid/i);
  });
});

Deno.test("DOCKER_EXEC SQLite: sqlite3 .backup in the container, temp file removed", async () => {
  await using dir = await tempDir("backupy-docker-sqlite-");
  await Deno.chmod(dir.path, 0o777);
  makeSqliteDatabase(join(dir.path, "app.db"), 5000);
  await using box = await startContainer({
    image: IMAGES.base,
    name: "backupy-sqlite",
    binds: { [dir.path]: "/data" },
    cmd: ["sleep", "2147483647"],
  });
  const engine = await createDockerExecEngine(
    "sqlite",
    host,
    target(box.name, { database: "/data/app.db" }),
  );
  assertMatch(await engine.version(), /^SQLite 3\.\d+/);
  const copy = join(dir.path, "copy.db");
  await dumpToFile(engine, copy);
  assertEquals(readItems(copy), readItems(join(dir.path, "app.db")));
  const check = new DatabaseSync(copy, { readOnly: true });
  assertEquals(check.prepare("PRAGMA integrity_check").get()?.integrity_check, "ok");
  check.close();
  assertEquals((await box.run(["sh", "-c", "ls /tmp | grep '^backupy-' || true"])).trim(), "");

  const missing = await createDockerExecEngine(
    "sqlite",
    host,
    target(box.name, { database: "/data/none.db" }),
  );
  const error = await assertRejects(() => missing.dump(new AbortController().signal));
  assertMatch(error.message, /no readable file \/data\/none\.db in the container/);
  assert(!(await Deno.stat(join(dir.path, "none.db")).catch(() => null)), "no file was created");
});

Deno.test("DOCKER_EXEC: a missing or stopped container is a clear error", async () => {
  const names: EngineName[] = ["postgresql"];
  for (const name of names) {
    const engine = await createDockerExecEngine(
      name,
      host,
      target(`no-such-${crypto.randomUUID()}`),
    );
    const error = await assertRejects(() => engine.version());
    assertMatch(error.message, /there is no container named no-such-/);
  }
  const box = await startContainer({ image: IMAGES.base, cmd: ["sleep", "2147483647"] });
  try {
    await docker.getContainer(box.id).stop({ t: 0 });
    const engine = await createDockerExecEngine(
      "sqlite",
      host,
      target(box.id, { database: "/x.db" }),
    );
    const error = await assertRejects(() => engine.version());
    assertMatch(error.message, /is not running/);
  } finally {
    await box.remove();
  }
});

/**
 * No mongodump can be installed on these machines (not in Debian, no
 * network), so this runs the real wrapper script around a stand-in
 * `mongodump` that records what it was given: the password must arrive in a
 * 0600 config file, never in argv, and the file must be gone afterwards.
 */
Deno.test("DOCKER_EXEC MongoDB: mongodump gets the password in a private config file, not argv", async () => {
  await using stubs = await tempDir("backupy-mongo-stubs-");
  await Deno.chmod(stubs.path, 0o755);
  await Deno.writeTextFile(
    join(stubs.path, "mongodump"),
    `#!/bin/sh
if [ "$1" = "--version" ]; then echo "mongodump version: 100.8.0"; exit 0; fi
for a in "$@"; do echo "$a"; done > /tmp/seen-args
prev=""
for a in "$@"; do
  if [ "$prev" = "--config" ]; then stat -c %a "$a" > /tmp/seen-mode; cat "$a" > /tmp/seen-config; fi
  prev="$a"
done
printf '\\155\\342\\231\\201archive-bytes'
`,
  );
  // The shell asks the server itself (buildInfo needs no login): no credentials go to it.
  await Deno.writeTextFile(
    join(stubs.path, "mongosh"),
    '#!/bin/sh\nfor a in "$@"; do echo "$a"; done > /tmp/seen-shell-args\necho 7.0.4\n',
  );
  await Deno.chmod(join(stubs.path, "mongodump"), 0o755);
  await Deno.chmod(join(stubs.path, "mongosh"), 0o755);
  const password = `it's-${crypto.randomUUID()}`;
  await using box = await startContainer({
    image: IMAGES.base,
    name: "backupy-mongo",
    cmd: ["sleep", "600"],
    binds: { [stubs.path]: "/opt/stubs" },
    env: {
      PATH: "/opt/stubs:/usr/local/bin:/usr/bin:/bin",
      MONGO_INITDB_ROOT_USERNAME: "root",
      MONGO_INITDB_ROOT_PASSWORD: password,
    },
  });
  const engine = await createDockerExecEngine(
    "mongodb",
    host,
    target(box.name, { database: "shop" }),
  );
  assertEquals(await engine.version(), "MongoDB 7.0.4");
  assert(!(await box.run(["cat", "/tmp/seen-shell-args"])).includes(password));
  // A container with the database tools only (no shell, no mongod) still backs up.
  await Deno.remove(join(stubs.path, "mongosh"));
  assertEquals(await engine.version(), "MongoDB (server version unknown: mongodump 100.8.0)");
  const watch = watchArgv([password]);
  const dump = await engine.dump(new AbortController().signal);
  const bytes = new Uint8Array(
    await new Response(dump.readable.pipeThrough(new HeaderCheckStream(engine.format)))
      .arrayBuffer(),
  );
  await dump.finished;
  assertEquals((await watch.stop()).hits, []);
  assertEquals(bytes.subarray(0, 4), new Uint8Array([0x6d, 0xe2, 0x99, 0x81]));
  const args = (await box.run(["cat", "/tmp/seen-args"])).trim().split("\n");
  assert(args.includes("--username=root") && args.includes("--authenticationDatabase=admin"));
  assert(args.includes("--db=shop") && args.includes("--archive"));
  assert(args.every((a) => !a.includes(password)), "the password reached mongodump's argv");
  assertEquals(
    await box.run(["cat", "/tmp/seen-config"]),
    `password: '${password.replaceAll("'", "''")}'\n`,
  );
  assertEquals((await box.run(["cat", "/tmp/seen-mode"])).trim(), "600");
  assertEquals((await box.run(["sh", "-c", "ls /tmp | grep '^backupy-' || true"])).trim(), "");

  // A user named in the URL authenticates against admin too, unless ?authSource= says.
  for (const [authSource, expected] of [[undefined, "admin"], ["shop", "shop"]] as const) {
    const named = await createDockerExecEngine(
      "mongodb",
      host,
      target(box.name, { database: "shop", username: "app", authSource }),
    );
    const run = await named.dump(new AbortController().signal);
    await new Response(run.readable).arrayBuffer();
    await run.finished;
    const seen = (await box.run(["cat", "/tmp/seen-args"])).trim().split("\n");
    assert(seen.includes("--username=app"), seen.join(" "));
    assert(seen.includes(`--authenticationDatabase=${expected}`), seen.join(" "));
  }
});
