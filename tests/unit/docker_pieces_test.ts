/**
 * Docker pieces that need no engine: image rules and labels, the exec
 * stream demultiplexer, the RDB mark cut, docker hooks' syntax, docker://
 * URLs, credential filling from a container's environment, the bounded
 * SQLite walk.
 */
import { join } from "node:path";
import { ConnectionStrategy, DbType } from "@backupy/gen/backup/v1/common_pb.ts";
import {
  containerType,
  engineForImage,
  imageRepository,
} from "../../agent/docker/container_type.ts";
import { DEFAULT_DOCKER_SOCKET, localDockerSocket } from "../../agent/docker/docker_socket.ts";
import { envHints } from "../../agent/docker/discovery_scan.ts";
import { ChunkCoalescer, FrameParser } from "../../agent/docker/multiplexed_stream.ts";
import { findSqliteFiles } from "../../agent/engines/sqlite/sqlite_file_finder.ts";
import type { ContainerFacts } from "../../agent/engines/shared/container_exec.ts";
import { Crc64Jones } from "../../agent/bytes/crc64.ts";
import { firstAvailable, stderrSummary } from "../../agent/engines/shared/docker_exec_engine.ts";
import { mysqlExecLogin } from "../../agent/engines/mysql/docker_exec_mysql.ts";
import { postgresExecEnv } from "../../agent/engines/postgres/docker_exec_postgres.ts";
import { redisCliVersion } from "../../agent/engines/redis/docker_exec_redis.ts";
import { RdbTrailer } from "../../agent/engines/redis/rdb_format.ts";
import { RdbMarkCutStream } from "../../agent/engines/redis/rdb_mark_cut_stream.ts";
import { targetFromUrl } from "../../agent/local/target_url.ts";
import { parseDockerHook } from "../../agent/runs/hook_runner.ts";
import { UsageError } from "../../decrypt/errors.ts";
import { Secret } from "../../decrypt/secret.ts";
import { makeSqliteDatabase, tempDir } from "../support/agent_fixtures.ts";
import { assert, assertEquals, assertThrows } from "../support/assert.ts";

Deno.test("image rules: registry, digest and tag dropped; exporters do not match", () => {
  assertEquals(imageRepository("registry.example.com:5000/Acme/DB:1.2@sha256:abc"), "acme/db");
  assertEquals(imageRepository("localhost/postgres:16"), "postgres");
  assertEquals(imageRepository("docker.io/library/redis:7"), "redis");
  const cases: [string, string | undefined][] = [
    ["postgres:16", "postgresql"],
    ["postgresql", "postgresql"],
    ["postgis/postgis:16-3.4", "postgresql"],
    ["timescale/timescaledb:latest-pg16", "postgresql"],
    ["ghcr.io/bitnami/postgresql:16", "postgresql"],
    ["mariadb:11", "mariadb"],
    ["bitnami/mariadb", "mariadb"],
    ["mysql:8.0", "mysql"],
    ["mysql8", "mysql"],
    ["percona:8", "mysql"],
    ["bitnami/mysql:8.4", "mysql"],
    ["mongo:7", "mongodb"],
    ["bitnami/mongodb:7.0", "mongodb"],
    ["redis:7-alpine", "redis"],
    ["bitnami/redis", "redis"],
    ["prom/mysqld-exporter", undefined],
    ["prometheuscommunity/postgres-exporter:v0.15", undefined],
    ["rediscommander/redis-commander", undefined],
    ["mysqlrouter", undefined],
    ["nginx:latest", undefined],
  ];
  for (const [image, engine] of cases) assertEquals(engineForImage(image), engine, image);
});

Deno.test("labels hide a container or set its type", () => {
  assertEquals(containerType("postgres:16", { "backupy.enable": "false" }), { kind: "hidden" });
  assertEquals(containerType("acme/db:1", { "backupy.type": "MariaDB" }), {
    kind: "engine",
    engine: "mariadb",
  });
  assertEquals(containerType("redis:7", { "backupy.type": "sqlite" }), {
    kind: "engine",
    engine: "sqlite",
  });
  // An unknown label value falls back to the image rule.
  assertEquals(containerType("redis:7", { "backupy.type": "oracle" }), {
    kind: "engine",
    engine: "redis",
  });
  assertEquals(containerType("nginx", {}), { kind: "unknown" });
});

function facts(env: Record<string, string>): ContainerFacts {
  return {
    id: "c0ffee",
    name: "db",
    image: "postgres:16",
    running: true,
    labels: {},
    env: new Map(Object.entries(env)),
    networks: [],
    ports: [],
    mounts: [],
  };
}

Deno.test('env hints: only the listed keys, always "set", never a value', () => {
  const hints = envHints(facts({
    POSTGRES_PASSWORD: "s3cret-value",
    POSTGRES_USER: "app",
    AWS_SECRET_ACCESS_KEY: "nope",
    PGDATABASE: "",
  }));
  assertEquals(hints, { POSTGRES_PASSWORD: "set", POSTGRES_USER: "set" });
  assert(!JSON.stringify(hints).includes("s3cret"));
});

Deno.test("DOCKER_EXEC credentials: the target first, the container's env fills the rest", () => {
  const base = { container: "db", host: "", port: 0, database: "", username: "" };
  const env = postgresExecEnv(
    base,
    facts({ POSTGRES_USER: "app", POSTGRES_PASSWORD: "pw", POSTGRES_DB: "shop" }),
  );
  assertEquals(env.PGUSER, "app");
  assertEquals(env.PGDATABASE, "shop");
  assert(env.PGPASSWORD instanceof Secret && env.PGPASSWORD.reveal() === "pw");
  const explicit = postgresExecEnv(
    { ...base, username: "other", database: "db2", password: new Secret("x"), port: 6543 },
    facts({ POSTGRES_USER: "app", POSTGRES_PASSWORD: "pw" }),
  );
  assertEquals([explicit.PGUSER, explicit.PGDATABASE, explicit.PGPORT], ["other", "db2", "6543"]);
  assertEquals((explicit.PGPASSWORD as Secret<string>).reveal(), "x");
  // The official image's default database is the user's name.
  assertEquals(postgresExecEnv(base, facts({ POSTGRES_USER: "app" })).PGDATABASE, "app");

  const root = mysqlExecLogin(base, facts({ MARIADB_ROOT_PASSWORD: "r", MARIADB_DATABASE: "d" }));
  assertEquals([root.user, root.password?.reveal(), root.database], ["root", "r", "d"]);
  const app = mysqlExecLogin(base, facts({ MYSQL_USER: "u", MYSQL_PASSWORD: "p" }));
  assertEquals([app.user, app.password?.reveal(), app.database], ["u", "p", ""]);
  const named = mysqlExecLogin(
    { ...base, username: "u" },
    facts({ MYSQL_ROOT_PASSWORD: "r", MYSQL_USER: "u", MYSQL_PASSWORD: "p" }),
  );
  assertEquals([named.user, named.password?.reveal()], ["u", "p"]);
});

Deno.test("firstAvailable runs the first installed program; stderr summaries stay short", async () => {
  const argv = firstAvailable(["no-such-tool-x", "echo"], ["hello", "$world"]);
  const out = await new Deno.Command(argv[0], { args: argv.slice(1) }).output();
  assertEquals(new TextDecoder().decode(out.stdout), "hello $world\n");
  const missing = firstAvailable(["no-such-tool-x"], []);
  const failed = await new Deno.Command(missing[0], { args: missing.slice(1) }).output();
  assertEquals(failed.code, 127);
  assert(new TextDecoder().decode(failed.stderr).includes("none of no-such-tool-x is installed"));
  assertThrows(() => firstAvailable(["rm -rf /"], []));
  assertEquals(stderrSummary("a\n\nb\nc\nd\n"), "b | c | d");
  assertEquals(redisCliVersion("redis-cli 7.0.15"), [7, 0]);
  assertEquals(redisCliVersion("garbage"), null);
});

function frame(type: number, payload: string): Uint8Array {
  const body = new TextEncoder().encode(payload);
  const out = new Uint8Array(8 + body.length);
  out[0] = type;
  new DataView(out.buffer).setUint32(4, body.length);
  out.set(body, 8);
  return out;
}

Deno.test("the exec stream parser splits stdout from stderr across any chunking", () => {
  const whole = new Uint8Array([
    ...frame(2, "1234\n"),
    ...frame(1, "hello "),
    ...frame(2, "warn"),
    ...frame(1, "world"),
    ...frame(1, ""),
  ]);
  for (const size of [1, 3, 8, 9, whole.length]) {
    let stdout = "";
    let stderr = "";
    const parser = new FrameParser(
      (b) => (stdout += new TextDecoder().decode(b)),
      (b) => (stderr += new TextDecoder().decode(b)),
    );
    for (let i = 0; i < whole.length; i += size) parser.feed(whole.slice(i, i + size));
    parser.finish();
    assertEquals(stdout, "hello world", `chunks of ${size}`);
    assertEquals(stderr, "1234\nwarn");
  }
  const cut = new FrameParser(() => {}, () => {});
  cut.feed(frame(1, "abc").slice(0, 9));
  assertThrows(() => cut.finish());
  assertThrows(() => new FrameParser(() => {}, () => {}).feed(frame(7, "x")));
});

Deno.test("small stdout pieces are gathered into full chunks", () => {
  const chunks: number[] = [];
  const coalescer = new ChunkCoalescer(10, (chunk) => chunks.push(chunk.length));
  for (let i = 0; i < 7; i++) coalescer.push(new Uint8Array(4));
  coalescer.flush();
  coalescer.flush();
  assertEquals(chunks, [10, 10, 8]);
});

/** A small, valid RDB: header, some bytes, EOF opcode, CRC-64/Jones. */
function rdb(withChecksum = true): Uint8Array {
  const body = new Uint8Array([...new TextEncoder().encode("REDIS0011"), 0xfa, 1, 2, 3, 0xff]);
  const crc = new Crc64Jones();
  crc.update(body);
  const out = new Uint8Array(body.length + 8);
  out.set(body);
  if (withChecksum) new DataView(out.buffer).setBigUint64(body.length, crc.value(), true);
  return out;
}

async function cut(bytes: Uint8Array, chunk = 7): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i += chunk) chunks.push(bytes.slice(i, i + chunk));
  return new Uint8Array(
    await new Response(ReadableStream.from(chunks).pipeThrough(new RdbMarkCutStream()))
      .arrayBuffer(),
  );
}

Deno.test("redis-cli's trailing EOF mark is cut after the RDB's checksum", async () => {
  const mark = new TextEncoder().encode("0123456789abcdef0123456789abcdef01234567");
  for (const withChecksum of [true, false]) {
    const file = rdb(withChecksum);
    assertEquals(await cut(file), file, "a plain RDB passes unchanged");
    assertEquals(await cut(new Uint8Array([...file, ...mark])), file, "the mark is dropped");
    const trailer = new RdbTrailer();
    trailer.update(await cut(new Uint8Array([...file, ...mark])));
    assertEquals(trailer.problem(), null);
  }
  // Not an RDB plus a mark: passed through whole, for the RDB check to reject.
  const junk = new Uint8Array(100).fill(7);
  assertEquals(await cut(junk), junk);
  const truncated = rdb().slice(0, 10);
  assertEquals(await cut(truncated), truncated);
});

Deno.test("docker hooks: docker:CONTAINER <command>", () => {
  assertEquals(parseDockerHook("docker:db pg_isready -q"), {
    container: "db",
    command: "pg_isready -q",
  });
  assertEquals(parseDockerHook("  docker:my_app.1 sh -c 'x'\n"), {
    container: "my_app.1",
    command: "sh -c 'x'",
  });
  assertEquals(parseDockerHook("echo docker:db"), null);
  assertEquals(parseDockerHook("docker:db"), null);
  assertEquals(parseDockerHook("docker ps"), null);
});

Deno.test("docker:// local-mode URLs", () => {
  const pg = targetFromUrl("docker://shop-db");
  assertEquals(pg.type, DbType.DB_UNSPECIFIED);
  assertEquals(pg.connection?.strategy, ConnectionStrategy.DOCKER_EXEC);
  assertEquals(pg.connection?.containerId, "shop-db");
  assertEquals(targetFromUrl("docker://shop-db/orders").connection?.database, "orders");
  const typed = targetFromUrl("docker://app/data/app.db?type=sqlite");
  assertEquals([typed.type, typed.connection?.database], [DbType.SQLITE, "/data/app.db"]);
  assertEquals(
    targetFromUrl("docker://app/var/lib/app.sqlite3").connection?.database,
    "/var/lib/app.sqlite3",
  );
  const creds = targetFromUrl("docker://u:p%40ss@db");
  assertEquals([creds.connection?.username, creds.connection?.passwordSecretRef], ["u", "p@ss"]);
  assertThrows(() => targetFromUrl("docker://"), UsageError);
  assertThrows(() => targetFromUrl("docker://db?type=oracle"), UsageError);
});

Deno.test("local mode's Docker socket: DOCKER_HOST unix:// first", () => {
  const env = (vars: Record<string, string>) => (name: string) => vars[name];
  assertEquals(localDockerSocket(env({})), DEFAULT_DOCKER_SOCKET);
  assertEquals(localDockerSocket(env({ BACKUPY_DOCKER_SOCKET: "/b.sock" })), "/b.sock");
  assertEquals(
    localDockerSocket(env({ DOCKER_HOST: "unix:///run/d.sock", BACKUPY_DOCKER_SOCKET: "/b" })),
    "/run/d.sock",
  );
  assertThrows(() => localDockerSocket(env({ DOCKER_HOST: "tcp://1.2.3.4:2375" })), UsageError);
});

Deno.test("SQLite files in a mount: by name and header, depth and entry bounds", async () => {
  await using dir = await tempDir("backupy-sqlite-walk-");
  makeSqliteDatabase(join(dir.path, "top.db"), 1);
  await Deno.mkdir(join(dir.path, "a/b/c/d/e"), { recursive: true });
  makeSqliteDatabase(join(dir.path, "a/b/c/d/deep.sqlite3"), 1);
  makeSqliteDatabase(join(dir.path, "a/b/c/d/e/too-deep.db"), 1);
  makeSqliteDatabase(join(dir.path, "a/not-a-name.bin"), 1);
  await Deno.writeTextFile(join(dir.path, "a/fake.db"), "just text, not SQLite");
  assertEquals(await findSqliteFiles(dir.path), ["a/b/c/d/deep.sqlite3", "top.db"]);
  // The entry budget stops the walk.
  assertEquals(await findSqliteFiles(dir.path, { maxDepth: 4, maxEntries: 0 }), []);
  assertEquals(await findSqliteFiles(dir.path, { maxDepth: 0, maxEntries: 100 }), ["top.db"]);
  // Breadth first: a small budget is spent near the top, never down at depth 4.
  assert(
    !(await findSqliteFiles(dir.path, { maxDepth: 4, maxEntries: 4 })).includes(
      "a/b/c/d/deep.sqlite3",
    ),
  );
  assertEquals(await findSqliteFiles(join(dir.path, "missing")), []);
});
