/**
 * MongoDB, natively with the `mongodb` driver (docs/agent.md section 5): a
 * mongodump-compatible archive (mongo_archive.ts) that `mongorestore
 * --archive` restores. Documents travel as the server sent them (the
 * driver's `raw` option: never decoded and re-encoded).
 *
 * Consistency, as mongodump without `--oplog`: each collection is read
 * with one cursor, so the dump is not one point in time. On a replica set
 * (MongoDB 5.0+) every read happens in one snapshot session instead, one
 * point in time for the whole dump; a dump must then finish within the
 * server's minSnapshotHistoryWindowInSeconds (300 s by default) or it fails
 * with SnapshotTooOld. The run's log says which the dump got.
 *
 * @module
 */
// The driver and the archive encoder (with BSON) load on first use: an
// agent with no MongoDB target never pays their ~20 MiB.
import "./engine_names.ts";
import type { MongoClient, MongoClientOptions } from "mongodb";
import type { Secret } from "../../../decrypt/secret.ts";
import { VERSION } from "../../../decrypt/version.ts";
import { garbageReleaser } from "../../../decrypt/garbage_release_stream.ts";
import { ByteBuilder } from "../../bytes/byte_builder.ts";
import { RowDigest } from "../../manifest/row_digest.ts";
import { Crc64Xz } from "../../bytes/crc64.ts";
import {
  DumpError,
  type DumpOptions,
  type DumpStream,
  type Engine,
  type RestoreOptions,
  type RestoreResult,
} from "../shared/engine.ts";
import type { PreludeEntry } from "./mongo_archive.ts";
import { MONGO_ARCHIVE_FORMAT } from "./mongo_archive_format.ts";
import { describeMongoError } from "./mongo_error_text.ts";

/** Where and how to connect. */
export interface MongoEndpoint {
  /** host:port list (a replica set's seeds), or the SRV name with `srv`. */
  hosts: string[];
  srv?: boolean;
  username?: string;
  password?: Secret<string>;
  /** Empty: every database but local (admin and config as mongodump keeps them). */
  database: string;
  /** URL query options the driver understands (authSource, tls, replicaSet, ...). */
  options?: Record<string, string>;
  /** false: never use a snapshot session, even on a replica set. */
  snapshot?: boolean;
  /**
   * false: a whole-server dump leaves out admin (users, roles and its
   * collections) and config, which it otherwise keeps as mongodump does.
   */
  systemDatabases?: boolean;
  /**
   * Only the databases whose names start with it, as if the prefix were not
   * there (a scratch restore's databases, read back by `verify`).
   */
  databasePrefix?: string;
}

/**
 * Collection options and index specifications read as stored: an Int64
 * that fits in 32 bits, or a whole-number double, would otherwise come back
 * as a plain number and be written as Int32 (mongodump keeps `$numberLong`
 * and `$numberDouble`); a regular expression keeps its flags.
 */
const AS_STORED = { promoteValues: false, promoteLongs: false, bsonRegExp: true } as const;

/** The config collections a whole-server dump keeps, as mongodump does (sharding's own). */
const CONFIG_COLLECTIONS = [
  "chunks",
  "collections",
  "databases",
  "settings",
  "shards",
  "tags",
  "version",
];

/** Databases only a dump that names them reads: the oplog's, and the server's internal ones. */
function wholeServerSkips(name: string): boolean {
  return name === "local" || name.startsWith("__mdb_internal");
}

/** Bytes gathered before a chunk goes down the pipeline. */
const CHUNK = 256 * 1024;

/**
 * Documents per reply are chosen so a reply is about this big. The driver
 * assembles each reply from socket chunks; a server's default 16 MiB
 * replies live long enough to be promoted out of the young generation and
 * only full collections free them (a 1 GiB dump peaked at 190-250 MiB of
 * RSS). Replies of about 256 KiB mostly die young (256 MiB dumped end to
 * end: 133-135 MiB, against 137-151 MiB with 1 MiB replies).
 */
const REPLY_BYTES = 256 * 1024;

/**
 * A full collection after this many document bytes, for the replies that
 * still get promoted (measured on 256 MiB: every 16 MiB peaks at 137-154
 * MiB; every 8 MiB at 136-144 MiB but a third slower; never, up to 236 MiB).
 */
const FULL_GC_EVERY = 16 * 1024 * 1024;

/** A find batch size that keeps replies near {@linkcode REPLY_BYTES}, from dbStats' avgObjSize. */
export function batchSizeFor(avgObjSize: number): number {
  if (!(avgObjSize > 0)) return 1000;
  return Math.min(10_000, Math.max(16, Math.round(REPLY_BYTES / avgObjSize)));
}

/**
 * Whether mongodump would dump collection `name` of `db`: names with `$`
 * never; in admin everything but system.keys (users, roles and the version
 * document included); in config, when the dump is of the whole server, only
 * sharding's collections; elsewhere system.js but no other system collection.
 */
export function dumpsCollection(db: string, name: string, wholeServer = false): boolean {
  if (name.includes("$")) return false;
  if (db === "admin") return name !== "system.keys";
  if (db === "config" && wholeServer) return CONFIG_COLLECTIONS.includes(name);
  return !name.startsWith("system.") || name === "system.js";
}

/** The native MongoDB engine. */
export class MongoEngine implements Engine {
  readonly name = "mongodb" as const;
  readonly format = MONGO_ARCHIVE_FORMAT;
  /** The dump runs its own full collections (FULL_GC_EVERY); the pipeline's would repeat them. */
  readonly dumpGarbage = "objects" as const;
  readonly #endpoint: MongoEndpoint;

  /** An engine for `endpoint`; nothing is contacted yet. */
  constructor(endpoint: MongoEndpoint) {
    this.#endpoint = endpoint;
  }

  async #client(): Promise<MongoClient> {
    const { MongoClient } = await import("mongodb");
    const e = this.#endpoint;
    const query = new URLSearchParams(e.options ?? {});
    const url = `${e.srv ? "mongodb+srv" : "mongodb"}://${e.hosts.join(",")}/` +
      (query.size ? `?${query}` : "");
    // Defaults only: the URL's own options win (the object would override them).
    const options: MongoClientOptions = { appName: "backupy-agent" };
    if (!query.has("serverSelectionTimeoutMS")) options.serverSelectionTimeoutMS = 15_000;
    if (!query.has("connectTimeoutMS")) options.connectTimeoutMS = 15_000;
    if (e.username) {
      // Credentials as options, never inside a URL string that could be logged.
      options.auth = { username: e.username, password: e.password?.reveal() };
    }
    return new MongoClient(url, options);
  }

  async #withClient<T>(what: string, use: (client: MongoClient) => Promise<T>): Promise<T> {
    const client = await this.#client();
    try {
      await client.connect();
      return await use(client);
    } catch (error) {
      if (error instanceof DumpError) throw error;
      throw new DumpError(`MongoDB ${what} failed: ${describeMongoError(error)}`);
    } finally {
      await client.close().catch(() => {});
    }
  }

  version(): Promise<string> {
    return this.#withClient("version probe", async (client) => {
      const info = await client.db("admin").command({ buildInfo: 1 });
      return `MongoDB ${info.version}`;
    });
  }

  estimateSize(): Promise<number | undefined> {
    return this.#withClient("size estimate", async (client) => {
      let total = 0;
      for (const name of await this.#databases(client)) {
        const stats = await client.db(name).command({ dbStats: 1 });
        total += Number(stats.dataSize ?? 0);
      }
      return total > 0 ? total : undefined;
    });
  }

  /**
   * Replays a mongodump archive (ours or mongodump's) into this server; see
   * mongo_restore.ts. `drop`, `rename` and `databasePrefix` are honoured.
   */
  async restore(
    source: ReadableStream<Uint8Array>,
    signal: AbortSignal,
    options: RestoreOptions = {},
  ): Promise<RestoreResult> {
    const [{ restoreMongo }, { parseRename }] = await Promise.all([
      import("./mongo_restore.ts"),
      import("./namespace_rename.ts"),
    ]);
    const rename = (options.rename ?? []).map(parseRename);
    return await this.#withClient("restore", (client) =>
      restoreMongo(client, source, signal, {
        drop: options.drop,
        rename,
        databasePrefix: options.databasePrefix ?? this.#endpoint.databasePrefix,
        targetDatabase: this.#endpoint.database || undefined,
      }));
  }

  /**
   * Drops database `name`; an engine made for a database prefix (a scratch
   * restore's) drops every database that starts with it instead.
   */
  dropDatabase(name: string): Promise<void> {
    return this.#withClient(`dropping ${name}`, async (client) => {
      const prefix = this.#endpoint.databasePrefix;
      const names = prefix === undefined ? [name] : await this.#databases(client);
      for (const db of names) await client.db(db).dropDatabase();
    });
  }

  async #databases(client: MongoClient): Promise<string[]> {
    const e = this.#endpoint;
    if (e.database) return [e.database];
    const { databases } = await client.db("admin").admin().listDatabases({ nameOnly: true });
    const prefix = e.databasePrefix;
    return databases.map((d) => d.name).filter((name) =>
      prefix !== undefined ? name.startsWith(prefix) : !wholeServerSkips(name) &&
        (e.systemDatabases !== false || (name !== "admin" && name !== "config"))
    ).sort();
  }

  /** What the prelude lists for `db`, in name order. */
  async #entries(client: MongoClient, db: string): Promise<PreludeEntry[]> {
    const infos = await client.db(db).listCollections({}, { nameOnly: false, ...AS_STORED })
      .toArray();
    const entries: PreludeEntry[] = [];
    for (const info of infos.sort((a, b) => a.name.localeCompare(b.name))) {
      if (!dumpsCollection(db, info.name, !this.#endpoint.database)) continue;
      const type = info.type === "view"
        ? "view"
        : info.type === "timeseries"
        ? "timeseries"
        : "collection";
      const indexes = type === "view"
        ? []
        : await client.db(db).collection(info.name).listIndexes(AS_STORED).toArray();
      const uuid = (info as { info?: { uuid?: { toString(encoding: "hex"): string } } }).info?.uuid;
      entries.push({
        db,
        collection: info.name,
        type,
        options: (info as { options?: Record<string, unknown> }).options ?? {},
        indexes,
        uuid: uuid?.toString("hex"),
      });
    }
    return entries;
  }

  async dump(signal: AbortSignal, options: DumpOptions = {}): Promise<DumpStream> {
    const { encodeBlockHeader, encodeNamespaceEnd, encodePrelude } = await import(
      "./mongo_archive.ts"
    );
    const client = await this.#client();
    let prelude: {
      entries: PreludeEntry[];
      serverVersion: string;
      snapshot: boolean;
      batchSizes: Map<string, number>;
    };
    try {
      await client.connect();
      const admin = client.db("admin");
      const info = await admin.command({ buildInfo: 1 });
      const hello = await admin.command({ hello: 1 });
      const major = Number(String(info.version).split(".")[0]);
      const snapshot = this.#endpoint.snapshot !== false && Boolean(hello.setName) && major >= 5;
      const entries: PreludeEntry[] = [];
      const batchSizes = new Map<string, number>();
      for (const db of await this.#databases(client)) {
        entries.push(...await this.#entries(client, db));
        const stats = await client.db(db).command({ dbStats: 1 }).catch(() => ({}));
        batchSizes.set(db, batchSizeFor(Number((stats as { avgObjSize?: number }).avgObjSize)));
      }
      prelude = { entries, serverVersion: String(info.version), snapshot, batchSizes };
    } catch (error) {
      await client.close().catch(() => {});
      throw new DumpError(`MongoDB dump failed: ${describeMongoError(error)}`);
    }
    options.warn?.(
      prelude.snapshot
        ? "MongoDB dump reads one snapshot (a single point in time); it must finish within the server's minSnapshotHistoryWindowInSeconds"
        : "MongoDB dump is not a point in time (a standalone server, or older than 5.0): each collection is read as it is when its turn comes, as mongodump without --oplog",
    );

    let resolveFinished!: () => void;
    let rejectFinished!: (error: Error) => void;
    const finished = new Promise<void>((resolve, reject) => {
      resolveFinished = resolve;
      rejectFinished = reject;
    });
    finished.catch(() => {});
    const session = prelude.snapshot ? client.startSession({ snapshot: true }) : undefined;
    const close = async () => {
      await session?.endSession().catch(() => {});
      await client.close().catch(() => {});
    };
    const onAbort = () => void close();
    signal.addEventListener("abort", onAbort, { once: true });

    const batchSizes = prelude.batchSizes;
    const wantManifest = options.manifest === true;
    const prefix = this.#endpoint.databasePrefix ?? "";
    const manifestName = (db: string, collection: string) =>
      `${db.slice(prefix.length)}.${collection}`;
    // Per namespace, as the archive's reader will count them (restore verification).
    const digests = new Map<string, RowDigest>();
    const chunks = async function* (): AsyncGenerator<Uint8Array> {
      const release = garbageReleaser(FULL_GC_EVERY, 1);
      const out = new ByteBuilder(CHUNK + 64 * 1024);
      out.bytes(encodePrelude(prelude.serverVersion, `backupy-agent ${VERSION}`, prelude.entries));
      for (const entry of prelude.entries) {
        if (entry.type === "view") {
          digests.set(manifestName(entry.db, entry.collection), new RowDigest());
          out.bytes(encodeBlockHeader(entry.db, entry.collection));
          out.bytes(encodeNamespaceEnd(entry.db, entry.collection, 0n));
          continue;
        }
        // A time-series collection's data lives in its buckets collection.
        const collection = entry.type === "timeseries"
          ? `system.buckets.${entry.collection}`
          : entry.collection;
        const crc = new Crc64Xz();
        const digest = new RowDigest();
        digests.set(manifestName(entry.db, collection), digest);
        out.bytes(encodeBlockHeader(entry.db, collection));
        const cursor = client.db(entry.db).collection(collection).find({}, {
          raw: true,
          batchSize: batchSizes.get(entry.db),
          session,
        });
        try {
          for await (const raw of cursor) {
            const bytes = raw as unknown as Uint8Array;
            crc.update(bytes);
            if (wantManifest) digest.add(bytes);
            out.bytes(bytes);
            if (out.length >= CHUNK) {
              release(out.length);
              yield out.take();
            }
          }
        } finally {
          await cursor.close().catch(() => {});
        }
        out.bytes(encodeNamespaceEnd(entry.db, collection, crc.value()));
        if (out.length >= CHUNK) yield out.take();
      }
      if (out.length) yield out.take();
    };

    const iterator = chunks();
    const readable = new ReadableStream<Uint8Array>({
      async pull(controller) {
        try {
          const next = await iterator.next();
          if (next.done) {
            controller.close();
            signal.removeEventListener("abort", onAbort);
            await close();
            resolveFinished();
          } else {
            controller.enqueue(next.value);
          }
        } catch (error) {
          signal.removeEventListener("abort", onAbort);
          await close();
          const failure = new DumpError(
            signal.aborted
              ? "the MongoDB dump was cancelled"
              : `MongoDB dump failed: ${describeMongoError(error)}`,
          );
          rejectFinished(failure);
          controller.error(failure);
        }
      },
      async cancel() {
        signal.removeEventListener("abort", onAbort);
        await iterator.return(undefined).catch(() => {});
        await close();
        rejectFinished(new DumpError("the MongoDB dump was cancelled"));
      },
    }, { highWaterMark: 1 });
    const manifest = finished.then(() => {
      if (!wantManifest) throw new DumpError("no manifest was asked for");
    }).then(() => ({
      objects: [...digests].map(([name, d]) => ({ name, rows: d.rows, digest: d.hex() })),
    }));
    manifest.catch(() => {});
    return { readable, finished, manifest };
  }
}
