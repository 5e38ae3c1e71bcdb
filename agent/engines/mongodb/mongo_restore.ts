/**
 * A mongodump archive replayed into a running MongoDB server through the
 * driver, as mongorestore does it (docs/engines.md section 2): when the
 * prelude has been read, every collection is created with its options and
 * `_id` index (time-series ones as time-series, views last), then the
 * documents go in as the archive carries them - raw BSON, never decoded, in
 * unordered `insert` batches of bounded size, one at a time (backpressure)
 * - and when the archive ends, the other indexes are built and users and
 * roles merged in with `_mergeAuthzCollections`.
 *
 * Nothing is written when a collection the archive holds already exists
 * (unless `drop` asks to replace it), when a `--rename` rule matches nothing,
 * or when a scratch restore meets users and roles. Any document the server
 * refuses fails the restore, naming the collection and the server's reason.
 *
 * @module
 */
import type { Db, Document, MongoClient } from "mongodb";
// The driver's own OP_MSG document sequence: documents given as bytes go on
// the wire as they are (the driver has no public way to send raw BSON).
import * as driverCommands from "mongodb/lib/cmap/commands.js";
import { EJSON } from "bson";
import { DumpError, type RestoreResult } from "../shared/engine.ts";
import { ArchiveDemultiplexer, type ArchiveNamespace } from "./archive_demultiplexer.ts";
import { describeMongoError } from "./mongo_error_text.ts";
import { type Namespace, NamespaceMap, type NamespaceRename } from "./namespace_rename.ts";

/** Options of a MongoDB restore. */
export interface MongoRestoreOptions {
  /** Drop each collection (or view) the archive holds before restoring it. */
  drop?: boolean;
  /** Where namespaces go instead (`--rename`). */
  rename?: readonly NamespaceRename[];
  /** Put before every database name (a scratch restore's own databases). */
  databasePrefix?: string;
  /**
   * The database the target URL names: a backup of one database is
   * restored into it, whatever it was called; a backup of several is refused.
   */
  targetDatabase?: string;
}

/** A batch is sent when it holds this many documents ... */
const BATCH_DOCUMENTS = 1000;
/** ... or this many bytes (the server takes 48 MB messages; 16 MiB documents go alone). */
const BATCH_BYTES = 8 * 1024 * 1024;
/** Pending bytes over every open namespace (mongodump interleaves up to four) before all are sent. */
const PENDING_BYTES = 16 * 1024 * 1024;
/** Bytes of the archive read before the documents found are sent. */
const READ_SLICE = 256 * 1024;
/** How many existing collections the error names. */
const NAMED = 10;

/** Where users and roles wait for `_mergeAuthzCollections` (in admin). */
const TEMP_USERS = "backupy_restore_users";
const TEMP_ROLES = "backupy_restore_roles";

interface DocumentSequence {
  push(document: unknown, bytes: Uint8Array): number;
}
const DocumentSequenceClass = (driverCommands as unknown as {
  DocumentSequence: new (field: string) => DocumentSequence;
}).DocumentSequence;

/** What happens to one namespace of the archive. */
interface Plan {
  source: ArchiveNamespace;
  target: Namespace;
  /** Where its documents go ("db.collection"), or nothing (views, system.version). */
  dataTarget?: Namespace;
  kind: "collection" | "view" | "timeseries" | "users" | "roles" | "skipped";
  options: Document;
  indexes: Document[];
}

interface Batch {
  target: Namespace;
  /** Schema validation is bypassed, as the data passed it (or predates it) where it came from. */
  bypassValidation: boolean;
  documents: Uint8Array[];
  bytes: number;
}

/** The metadata string of a prelude entry, with its BSON types kept. */
function metadataOf(source: ArchiveNamespace): { options: Document; indexes: Document[] } {
  try {
    const metadata = EJSON.parse(source.metadata, { relaxed: false }) as Document;
    return { options: metadata.options ?? {}, indexes: metadata.indexes ?? [] };
  } catch (error) {
    throw new DumpError(
      `the archive's metadata of ${source.db}.${source.collection} is not Extended JSON: ${
        (error as Error).message
      }`,
    );
  }
}

function planFor(source: ArchiveNamespace, names: NamespaceMap, prefix: string): Plan {
  const { options, indexes } = metadataOf(source);
  const name = `${source.db}.${source.collection}`;
  const auth = name === "admin.system.users"
    ? "users"
    : name === "admin.system.roles"
    ? "roles"
    : undefined;
  if (auth) {
    if (prefix) {
      throw new DumpError(
        `the backup holds ${auth} (${name}), which a scratch restore cannot keep apart from the ` +
          "server's own: verify it at the manifest level, or restore it into a server of its own",
      );
    }
    const temp = { db: "admin", collection: auth === "users" ? TEMP_USERS : TEMP_ROLES };
    return { source, target: temp, dataTarget: temp, kind: auth, options: {}, indexes: [] };
  }
  const target = names.target(source);
  // The authorization schema and the feature compatibility version belong to the target
  // server: mongorestore reads them and never writes them back.
  if (name === "admin.system.version") {
    return { source, target, kind: "skipped", options, indexes };
  }
  const kind = source.type === "view"
    ? "view"
    : source.type === "timeseries"
    ? "timeseries"
    : "collection";
  const dataTarget = kind === "view"
    ? undefined
    : kind === "timeseries"
    ? { db: target.db, collection: `system.buckets.${target.collection}` }
    : target;
  return { source, target, dataTarget, kind, options, indexes };
}

/** The `create` command of a collection, time-series collection or view. */
function createCommand(plan: Plan): Document {
  const options: Document = { ...plan.options };
  // Refused by servers that did not write them (8.2 and later refuse autoIndexId at all).
  delete options.autoIndexId;
  delete options.recordIdsReplicated;
  const command: Document = { create: plan.target.collection, ...options };
  if (plan.kind === "collection" && !options.clusteredIndex) {
    const idIndex = plan.indexes.find((index) => index.name === "_id_");
    if (idIndex) {
      // The server picks the index version, as mongorestore lets it.
      const { v: _version, ns: _ns, ...spec } = idIndex;
      command.idIndex = spec;
    }
  }
  return command;
}

/** Every index but `_id_`, as `createIndexes` takes them. */
function secondaryIndexes(plan: Plan): Document[] {
  return plan.indexes.filter((index) => index.name !== "_id_").map((index) => {
    const { v: _version, ns: _ns, ...spec } = index;
    return spec;
  });
}

const text = (ns: Namespace) => `${ns.db}.${ns.collection}`;

/** The restore of one archive into one server. */
class ArchiveRestore {
  readonly #client: MongoClient;
  readonly #options: MongoRestoreOptions;
  readonly #sources: ArchiveNamespace[] = [];
  #plans: Plan[] = [];
  /** Data namespace of the archive -> its plan. */
  readonly #byData = new Map<string, Plan>();
  /** Batches still filling, by archive namespace. */
  readonly #open = new Map<string, Batch>();
  /** Full batches, and those of namespaces that ended, in the order they are sent. */
  readonly #ready: Batch[] = [];
  #pendingBytes = 0;
  #preludeRead = false;
  #setUp = false;
  #problem: string | undefined;
  #inserted = 0;
  #tempCollections = false;

  constructor(client: MongoClient, options: MongoRestoreOptions) {
    this.#client = client;
    this.#options = options;
  }

  /** The demultiplexer's events: plans once the prelude is read, documents into batches. */
  demultiplexer(): ArchiveDemultiplexer {
    return new ArchiveDemultiplexer({
      namespace: (source) => void this.#sources.push(source),
      preludeEnd: () => this.#plan(),
      document: (ns, document) => this.#add(ns, document),
      namespaceEnd: (ns) => this.#close(ns),
      problem: (problem) => void (this.#problem ??= problem),
    });
  }

  /** Where each namespace of the prelude goes; throws before anything is written. */
  #plan(): void {
    const prefix = this.#options.databasePrefix ?? "";
    const rules = [...this.#options.rename ?? []];
    const names = new NamespaceMap(rules, prefix);
    const unused = names.unused(this.#sources);
    const databases = [...new Set(this.#sources.map((s) => s.db))];
    if (unused.length) {
      throw new DumpError(
        `--rename names ${unused.join(", ")}, which the backup does not hold (it holds ${
          databases.join(", ")
        })`,
      );
    }
    const into = this.#options.targetDatabase;
    const userDatabases = databases.filter((db) => db !== "admin" || databases.length === 1);
    if (into && !userDatabases.every((db) => db === into)) {
      if (userDatabases.length > 1) {
        throw new DumpError(
          `the backup holds the databases ${userDatabases.join(", ")} and the target names one ` +
            `(${into}): leave the database out of the target URL to restore them all, or ` +
            "--rename each of them",
        );
      }
      // One database, restored under the target's name unless a rule says otherwise.
      if (!rules.some((r) => r.from.db === userDatabases[0] && r.from.collection === undefined)) {
        rules.push({ from: { db: userDatabases[0] }, to: { db: into } });
      }
    }
    const renamed = new NamespaceMap(rules, prefix);
    this.#plans = this.#sources.map((source) => planFor(source, renamed, prefix));
    for (const plan of this.#plans) {
      const { source } = plan;
      const data = source.type === "timeseries"
        ? `${source.db}.system.buckets.${source.collection}`
        : `${source.db}.${source.collection}`;
      this.#byData.set(data, plan);
    }
    this.#preludeRead = true;
  }

  #add(ns: string, document: Uint8Array): void {
    const plan = this.#byData.get(ns);
    if (!plan?.dataTarget) return;
    let batch = this.#open.get(ns);
    if (!batch) {
      batch = {
        target: plan.dataTarget,
        bypassValidation: plan.kind === "collection",
        documents: [],
        bytes: 0,
      };
      this.#open.set(ns, batch);
    }
    // A copy: the archive's chunk is not ours to keep.
    batch.documents.push(document.slice());
    batch.bytes += document.length;
    this.#pendingBytes += document.length;
    if (batch.documents.length >= BATCH_DOCUMENTS || batch.bytes >= BATCH_BYTES) this.#close(ns);
  }

  /** Moves the open batch of `ns` to the ones to send. */
  #close(ns: string): void {
    const batch = this.#open.get(ns);
    if (!batch) return;
    this.#open.delete(ns);
    this.#ready.push(batch);
  }

  /** Sends what is due: the setup once the prelude is read, then full batches. */
  async drain(final = false): Promise<void> {
    if (this.#problem) throw new DumpError(`the archive is damaged: ${this.#problem}`);
    if (this.#preludeRead && !this.#setUp) {
      await this.#setUpTarget();
      this.#setUp = true;
    }
    if (!this.#setUp) return;
    if (final || this.#pendingBytes >= PENDING_BYTES) {
      for (const ns of [...this.#open.keys()]) this.#close(ns);
    }
    for (let batch = this.#ready.shift(); batch; batch = this.#ready.shift()) {
      await this.#insert(batch);
    }
  }

  async #setUpTarget(): Promise<void> {
    const restored = this.#plans.filter((p) =>
      p.kind !== "skipped" && p.kind !== "users" &&
      p.kind !== "roles"
    );
    const existing = await this.#existing(restored.map((p) => p.target.db));
    const clashes = restored.filter((p) => existing.has(text(p.target)));
    if (clashes.length && !this.#options.drop) {
      throw new DumpError(
        `${clashes.length} collection(s) of the backup already exist in the target: ${
          clashes.slice(0, NAMED).map((p) => text(p.target)).join(", ")
        }${clashes.length > NAMED ? ", ..." : ""} (pass --drop to replace them, or --rename ` +
          "to restore beside them); nothing was written",
      );
    }
    for (const plan of clashes) {
      await this.#run(
        plan.target.db,
        { drop: plan.target.collection },
        `dropping ${text(plan.target)}`,
      );
    }
    if (this.#plans.some((p) => p.kind === "users" || p.kind === "roles")) {
      this.#tempCollections = true;
      await this.#dropTempCollections();
    }
    // Collections first, so that a view's source exists when the view is made.
    const ordered = [
      ...restored.filter((p) => p.kind !== "view"),
      ...restored.filter((p) => p.kind === "view"),
    ];
    for (const plan of ordered) {
      await this.#run(plan.target.db, createCommand(plan), `creating ${text(plan.target)}`);
    }
  }

  async #existing(databases: string[]): Promise<Set<string>> {
    const found = new Set<string>();
    for (const db of new Set(databases)) {
      const infos = await this.#client.db(db).listCollections({}, { nameOnly: true }).toArray();
      for (const info of infos) found.add(`${db}.${info.name}`);
    }
    return found;
  }

  async #insert(batch: Batch): Promise<void> {
    if (batch.documents.length === 0) return;
    const documents = new DocumentSequenceClass("documents");
    for (const bytes of batch.documents) documents.push(null, bytes);
    this.#pendingBytes -= batch.documents.reduce((n, d) => n + d.length, 0);
    const command: Document = {
      insert: batch.target.collection,
      documents,
      ordered: false,
    };
    if (batch.bypassValidation) command.bypassDocumentValidation = true;
    const reply = await this.#run(batch.target.db, command, `inserting into ${text(batch.target)}`);
    const errors = (reply.writeErrors ?? []) as { errmsg?: string; code?: number }[];
    if (errors.length) {
      throw new DumpError(
        `the server refused ${errors.length} of ${batch.documents.length} documents for ${
          text(batch.target)
        }: ${errors[0].errmsg ?? `code ${errors[0].code}`}`,
      );
    }
    if (reply.writeConcernError) {
      throw new DumpError(
        `inserting into ${
          text(batch.target)
        }: write concern failed: ${reply.writeConcernError.errmsg}`,
      );
    }
    this.#inserted += Number(reply.n ?? batch.documents.length);
  }

  /** After the last document: indexes, then users and roles. */
  async finish(): Promise<RestoreResult> {
    await this.drain(true);
    if (!this.#setUp) throw new DumpError("the archive ends before its prelude does");
    for (const plan of this.#plans) {
      if (plan.kind !== "collection" && plan.kind !== "timeseries") continue;
      const indexes = secondaryIndexes(plan);
      if (indexes.length === 0) continue;
      await this.#run(plan.target.db, {
        createIndexes: plan.target.collection,
        indexes,
      }, `building the indexes of ${text(plan.target)}`);
    }
    const users = this.#plans.find((p) => p.kind === "users");
    const roles = this.#plans.find((p) => p.kind === "roles");
    if (users || roles) {
      await this.#run("admin", {
        _mergeAuthzCollections: 1,
        ...(users ? { tempUsersCollection: `admin.${TEMP_USERS}` } : {}),
        ...(roles ? { tempRolesCollection: `admin.${TEMP_ROLES}` } : {}),
        drop: this.#options.drop === true,
        // The whole server's users and roles, as the archive came from admin.
        db: "",
      }, "merging users and roles");
    }
    return { units: this.#inserted, unit: "documents" };
  }

  /** Removes the temporary users and roles collections, on every path. */
  async cleanUp(): Promise<void> {
    if (this.#tempCollections) await this.#dropTempCollections().catch(() => {});
  }

  async #dropTempCollections(): Promise<void> {
    const admin = this.#client.db("admin");
    const names = (await admin.listCollections({}, { nameOnly: true }).toArray()).map((c) =>
      c.name
    );
    for (const name of [TEMP_USERS, TEMP_ROLES]) {
      if (names.includes(name)) await this.#run("admin", { drop: name }, `dropping admin.${name}`);
    }
  }

  async #run(db: string, command: Document, what: string): Promise<Document> {
    const database: Db = this.#client.db(db);
    try {
      return await database.command(command);
    } catch (error) {
      throw new DumpError(`${what} failed: ${describeMongoError(error)}`);
    }
  }
}

/**
 * Replays the archive read from `source` into the server behind `client`.
 * Resolves with the documents inserted; rejects with what stopped it.
 */
export async function restoreMongo(
  client: MongoClient,
  source: ReadableStream<Uint8Array>,
  signal: AbortSignal,
  options: MongoRestoreOptions = {},
): Promise<RestoreResult> {
  const restore = new ArchiveRestore(client, options);
  const archive = restore.demultiplexer();
  try {
    for await (const chunk of source) {
      signal.throwIfAborted();
      // A highly compressible archive decompresses into large chunks: read in
      // slices, so that the documents waiting to be sent stay a batch's worth.
      for (let at = 0; at < chunk.length; at += READ_SLICE) {
        archive.update(chunk.subarray(at, at + READ_SLICE));
        await restore.drain();
      }
    }
    archive.finish();
    return await restore.finish();
  } finally {
    await restore.cleanUp();
  }
}
