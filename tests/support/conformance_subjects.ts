/**
 * One test subject per engine family for the conformance test: a small
 * source database on the family's test server, an empty place to restore
 * it to, and a way to picture a database's schema and data with the
 * engine's own tools so that a restored copy can be compared with its
 * source. A family of the registry without a subject here fails the test.
 */
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { BSON, EJSON } from "bson";
import { makeSqliteDatabase } from "./agent_fixtures.ts";
import { MongoWireServer, type WireCollection } from "./mongo_wire_server.ts";
import { EVERY_TYPE_LUA, type PrivateRedis, redisPicture, startRedis } from "./redis_server.ts";
import { mariadb, psql, TEST_PASSWORD } from "./sql_clients.ts";

/** A database a subject made; `url` names it for the agent, `env` carries its password. */
export interface SubjectDatabase extends AsyncDisposable {
  url: string;
  env: Record<string, string>;
}

/** What the conformance test needs of a family's test server. */
export interface ConformanceSubject {
  /** A source database with a few objects and rows. */
  source(dir: string): Promise<SubjectDatabase>;
  /** An empty place to restore into (a database that does not exist yet, a new file). */
  restoreTarget(dir: string): Promise<SubjectDatabase>;
  /** The database's schema and data as the engine's own tools show them. */
  picture(database: SubjectDatabase): Promise<string>;
  /** `verify --level restore --scratch` for families that restore on a scratch server. */
  scratch?(dir: string): Promise<SubjectDatabase>;
}

/** A shared test server as a scratch server (the check makes and drops its own database there). */
function sharedServer(url: string): SubjectDatabase {
  return { url, env: {}, [Symbol.asyncDispose]: () => Promise.resolve() };
}

function randomName(prefix: string): string {
  return `${prefix}_${crypto.randomUUID().replaceAll("-", "").slice(0, 10)}`;
}

async function tool(command: string, args: string[], env: Record<string, string>) {
  const out = await new Deno.Command(command, { args, env, stdout: "piped", stderr: "piped" })
    .output();
  if (!out.success) throw new Error(`${command}: ${new TextDecoder().decode(out.stderr)}`);
  return new TextDecoder().decode(out.stdout);
}

const PG_ENV = { PGHOST: "127.0.0.1", PGUSER: "backupy", PGPASSWORD: TEST_PASSWORD };

function pgDatabase(name: string): SubjectDatabase {
  return {
    url: `postgres://backupy@127.0.0.1:5432/${name}`,
    env: { PGPASSWORD: TEST_PASSWORD },
    [Symbol.asyncDispose]: async () => {
      await psql(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    },
  };
}

const postgres: ConformanceSubject = {
  async source() {
    const name = randomName("backupy_conf_pg");
    await psql(`CREATE DATABASE ${name} TEMPLATE template0`);
    await psql(
      `CREATE TABLE items (id serial PRIMARY KEY, label text NOT NULL, at timestamptz, data bytea);
       INSERT INTO items (label, at, data) SELECT 'item ' || g, '2026-01-01'::timestamptz + g * interval '1 hour',
         decode(md5(g::text), 'hex') FROM generate_series(1, 500) g;
       CREATE VIEW recent AS SELECT id, label FROM items WHERE id > 400;
       CREATE INDEX items_label ON items (label);`,
      name,
    );
    return pgDatabase(name);
  },
  restoreTarget: () => Promise.resolve(pgDatabase(randomName("backupy_conf_pg_restored"))),
  async picture(database) {
    const name = new URL(database.url).pathname.slice(1);
    const dump = await tool("pg_dump", ["--no-owner", "-d", name], PG_ENV);
    // PostgreSQL 15.14+ writes a random key to \restrict lines: not part of the database.
    return dump.split("\n").filter((line) => !/^\\(un)?restrict /.test(line)).join("\n");
  },
  scratch: () =>
    Promise.resolve(sharedServer(`postgres://backupy:${TEST_PASSWORD}@127.0.0.1:5432/`)),
};

function mysqlDatabase(name: string): SubjectDatabase {
  return {
    url: `mariadb://backupy@127.0.0.1:3306/${name}`,
    env: { MYSQL_PWD: TEST_PASSWORD },
    [Symbol.asyncDispose]: async () => {
      await mariadb(`DROP DATABASE IF EXISTS ${name}`);
    },
  };
}

const mysql: ConformanceSubject = {
  async source() {
    const name = randomName("backupy_conf_my");
    await mariadb(
      `CREATE DATABASE ${name} CHARACTER SET utf8mb4; USE ${name};
       CREATE TABLE items (id INT AUTO_INCREMENT PRIMARY KEY, label VARCHAR(40) NOT NULL,
         at DATETIME(3), data VARBINARY(32), KEY items_label (label));
       INSERT INTO items (label, at, data) SELECT CONCAT('item ', seq),
         '2026-01-01' + INTERVAL seq HOUR, UNHEX(MD5(seq)) FROM seq_1_to_500;
       CREATE VIEW recent AS SELECT id, label FROM items WHERE id > 400;`,
    );
    return mysqlDatabase(name);
  },
  restoreTarget: () => Promise.resolve(mysqlDatabase(randomName("backupy_conf_my_restored"))),
  async picture(database) {
    const name = new URL(database.url).pathname.slice(1);
    return await tool("mariadb-dump", [
      "--protocol=tcp",
      "-h127.0.0.1",
      "-ubackupy",
      "--skip-comments",
      "--skip-dump-date",
      "--hex-blob",
      "--routines",
      "--events",
      name,
    ], { MYSQL_PWD: TEST_PASSWORD });
  },
  scratch: () => Promise.resolve(sharedServer(`mysql://backupy:${TEST_PASSWORD}@127.0.0.1:3306/`)),
};

/** The wire servers of the MongoDB subject, by URL, for pictures of them. */
const mongoServers = new Map<string, { server: MongoWireServer; db: string }>();

/** A MongoDB wire server holding `databases`, as a subject database named `db`. */
function mongoDatabase(
  databases: Record<string, WireCollection[]>,
  db: string,
): SubjectDatabase {
  const server = MongoWireServer.start({ databases });
  const url = `mongodb://127.0.0.1:${server.port}/${db}`;
  mongoServers.set(url, { server, db });
  return {
    url,
    env: {},
    [Symbol.asyncDispose]: async () => {
      mongoServers.delete(url);
      await server[Symbol.asyncDispose]();
    },
  };
}

const mongodb: ConformanceSubject = {
  source() {
    const documents = Array.from(
      { length: 200 },
      (_, i) => BSON.serialize({ _id: i, label: `item ${i}`, tags: ["a", i % 7] }),
    );
    return Promise.resolve(mongoDatabase({
      conf: [
        {
          name: "items",
          documents,
          options: { validator: { label: { $type: "string" } } },
          indexes: [
            { v: 2, key: { _id: 1 }, name: "_id_" },
            { v: 2, key: { label: 1 }, name: "label_1", unique: true },
          ],
        },
        { name: "first_items", type: "view", options: { viewOn: "items", pipeline: [] } },
      ],
    }, "conf"));
  },
  restoreTarget: () => Promise.resolve(mongoDatabase({}, "conf_restored")),
  // What a server holds of the database: each collection's kind, options, indexes and
  // documents, as the server stores them (byte for byte, hex).
  picture(database) {
    const { server, db } = mongoServers.get(database.url)!;
    const collections = [...server.collections(db)].sort((a, b) => a.name.localeCompare(b.name));
    return Promise.resolve(JSON.stringify(
      collections.map((c) => ({
        name: c.name,
        type: c.type ?? "collection",
        options: EJSON.stringify((c.options ?? {}) as never, { relaxed: false }),
        indexes: EJSON.stringify((c.indexes ?? []) as never, { relaxed: false }),
        documents: (c.documents ?? []).map((d) => d.toHex()),
      })),
      null,
      1,
    ));
  },
  // A server of its own: the check restores under a prefix there and drops what it made.
  scratch: () => Promise.resolve(mongoDatabase({}, "")),
};

/** The private servers of the Redis subject, by URL, for pictures of them. */
const redisServers = new Map<string, PrivateRedis>();

/** A private Redis server as a subject database (the shared one changes under other tests). */
async function privateRedis(dir: string): Promise<SubjectDatabase> {
  const server = await startRedis(dir);
  redisServers.set(server.url, server);
  return {
    url: server.url,
    env: {},
    [Symbol.asyncDispose]: async () => {
      redisServers.delete(server.url);
      await server[Symbol.asyncDispose]();
    },
  };
}

const redis: ConformanceSubject = {
  async source(dir) {
    const database = await privateRedis(dir);
    const server = redisServers.get(database.url)!;
    await server.cli("EVAL", EVERY_TYPE_LUA, "0", "conf:");
    await server.cli("-n", "3", "SET", "elsewhere", "in db3");
    return database;
  },
  restoreTarget: (dir) => privateRedis(dir),
  picture: (database) => redisPicture(redisServers.get(database.url)!),
  // A whole server, emptied afterwards: a private one.
  scratch: (dir) => privateRedis(dir),
};

function sqliteFile(path: string): SubjectDatabase {
  return {
    url: `sqlite://${path}`,
    env: {},
    [Symbol.asyncDispose]: async () => {
      for (const suffix of ["", "-wal", "-shm"]) await Deno.remove(path + suffix).catch(() => {});
    },
  };
}

const sqlite: ConformanceSubject = {
  source(dir) {
    const path = join(dir, `${randomName("source")}.db`);
    makeSqliteDatabase(path, 500);
    return Promise.resolve(sqliteFile(path));
  },
  restoreTarget: (dir) => Promise.resolve(sqliteFile(join(dir, `${randomName("restored")}.db`))),
  picture(database) {
    const db = new DatabaseSync(new URL(database.url).pathname, { readOnly: true });
    try {
      const schema = db.prepare("SELECT type, name, sql FROM sqlite_master ORDER BY name").all();
      const rows = schema.filter((o) => o.type === "table").map((o) => [
        o.name,
        db.prepare(`SELECT * FROM "${String(o.name).replaceAll('"', '""')}" ORDER BY rowid`).all(),
      ]);
      return Promise.resolve(JSON.stringify({ schema, rows }, null, 1));
    } finally {
      db.close();
    }
  },
};

/** The subjects, by registry family. */
export const CONFORMANCE_SUBJECTS: Readonly<Record<string, ConformanceSubject>> = {
  postgres,
  mysql,
  mongodb,
  redis,
  sqlite,
};
