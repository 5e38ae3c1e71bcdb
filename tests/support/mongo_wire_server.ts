/**
 * A MongoDB-wire-compatible server for the tests (no MongoDB can be
 * installed here; docs/engines.md section 3): OP_MSG and the legacy OP_QUERY
 * handshake over TCP, SCRAM-SHA-256 authentication, and the commands a dump
 * needs - hello/isMaster, buildInfo, listDatabases, listCollections,
 * listIndexes, find, getMore, killCursors, dbStats, endSessions, ping - and
 * those a restore needs - create, drop, dropDatabase, insert (documents in
 * the body or as an OP_MSG document sequence, kept byte for byte),
 * createIndexes, _mergeAuthzCollections - over in-memory collections of raw
 * BSON documents. Tests can kill cursors
 * or drop connections mid-dump, and see every command it received.
 */
import { Binary, deserialize, EJSON, Long, ObjectId, serialize, Timestamp } from "bson";
import { createHash, createHmac, pbkdf2Sync, randomBytes } from "node:crypto";

const OP_REPLY = 1;
/** Where a command's kind 1 sections (raw documents by field name) are handed to #command. */
const SEQUENCES = Symbol("document sequences");
/** Fields of a command that are the protocol's, not the command's options. */
const GENERIC_FIELDS = new Set([
  "$db",
  "lsid",
  "$clusterTime",
  "$readPreference",
  "writeConcern",
  "apiVersion",
  "txnNumber",
  "autocommit",
]);
const OP_QUERY = 2004;
const OP_MSG = 2013;

/** A document's _id as canonical Extended JSON, to compare. */
function idOf(doc: Uint8Array): string {
  return EJSON.stringify(deserialize(doc, { promoteValues: false })._id, { relaxed: false });
}

/** The _ids of a collection's documents, kept between inserts (rebuilt when it changed otherwise). */
const knownIds = new WeakMap<Uint8Array[], Set<string>>();
function idsOf(documents: Uint8Array[]): Set<string> {
  let ids = knownIds.get(documents);
  if (!ids || ids.size !== documents.length) {
    ids = new Set(documents.map(idOf));
    knownIds.set(documents, ids);
  }
  return ids;
}

/** One collection (or view) the server holds. */
export interface WireCollection {
  name: string;
  type?: "collection" | "view" | "timeseries";
  options?: Record<string, unknown>;
  indexes?: Record<string, unknown>[];
  /** Raw BSON documents, served byte for byte. */
  documents?: Uint8Array[];
  uuid?: Uint8Array;
}

/** Server behaviour. */
export interface WireServerOptions {
  /** db name -> collections. */
  databases: Record<string, WireCollection[]>;
  /** When set, every command but the handshake needs SCRAM-SHA-256 as this user. */
  user?: { name: string; password: string };
  /** Reported by buildInfo. */
  version?: string;
  /** Most documents per getMore batch (several batches per collection). */
  getMoreBatch?: number;
  /** Act as the primary of a one-member replica set of this name (snapshot reads). */
  replicaSet?: string;
  /** Serve TLS with this PEM certificate and key. */
  tls?: { cert: string; key: string };
  /** The database users authenticate against (default admin). */
  authDatabase?: string;
}

interface Cursor {
  ns: string;
  documents: Uint8Array[];
  position: number;
}

/** A BSON element with an already-encoded value. */
function element(type: number, key: string, value: Uint8Array): Uint8Array {
  const name = new TextEncoder().encode(key);
  const out = new Uint8Array(1 + name.length + 1 + value.length);
  out[0] = type;
  out.set(name, 1);
  out.set(value, 2 + name.length);
  return out;
}

/** A BSON document from encoded elements. */
function documentOf(elements: Uint8Array[]): Uint8Array {
  const size = 4 + elements.reduce((n, e) => n + e.length, 0) + 1;
  const out = new Uint8Array(size);
  new DataView(out.buffer).setInt32(0, size, true);
  let offset = 4;
  for (const e of elements) {
    out.set(e, offset);
    offset += e.length;
  }
  return out;
}

/** `{cursor: {firstBatch|nextBatch: [raw docs], id, ns}, ok: 1}` without re-encoding the docs. */
function cursorReply(
  batchName: string,
  docs: Uint8Array[],
  id: bigint,
  ns: string,
  atClusterTime?: Timestamp,
): Uint8Array {
  const array = documentOf(docs.map((d, i) => element(0x03, String(i), d)));
  const tail = serialize({
    id: Long.fromBigInt(id),
    ns,
    ...(atClusterTime ? { atClusterTime } : {}),
  });
  // tail's elements (id, ns) without its length prefix and trailing zero.
  const cursor = documentOf([element(0x04, batchName, array), tail.subarray(4, tail.length - 1)]);
  const ok = serialize({ ok: 1 });
  return documentOf([element(0x03, "cursor", cursor), ok.subarray(4, ok.length - 1)]);
}

function xor(a: Uint8Array, b: Uint8Array): Uint8Array {
  return a.map((v, i) => v ^ b[i]);
}

/** SCRAM-SHA-256 on the server side (RFC 5802 / 7677). */
class ScramConversation {
  readonly #user: { name: string; password: string };
  readonly #salt = randomBytes(16);
  readonly #iterations = 4096;
  #clientFirstBare = "";
  #serverFirst = "";
  #nonce = "";

  constructor(user: { name: string; password: string }) {
    this.#user = user;
  }

  start(payload: string): string {
    this.#clientFirstBare = payload.replace(/^n,,/, "");
    const fields = Object.fromEntries(
      this.#clientFirstBare.split(",").map((f) => [f[0], f.slice(2)]),
    );
    if (fields.n !== this.#user.name) throw new Error("unknown user");
    this.#nonce = fields.r + randomBytes(18).toString("base64");
    this.#serverFirst = `r=${this.#nonce},s=${this.#salt.toString("base64")},i=${this.#iterations}`;
    return this.#serverFirst;
  }

  /** The server-final message, or throws when the proof is wrong. */
  finish(payload: string): string {
    const proofAt = payload.lastIndexOf(",p=");
    const withoutProof = payload.slice(0, proofAt);
    const proof = Buffer.from(payload.slice(proofAt + 3), "base64");
    if (!withoutProof.includes(`r=${this.#nonce}`)) throw new Error("nonce mismatch");
    const salted = pbkdf2Sync(this.#user.password, this.#salt, this.#iterations, 32, "sha256");
    const clientKey = createHmac("sha256", salted).update("Client Key").digest();
    const storedKey = createHash("sha256").update(clientKey).digest();
    const authMessage = `${this.#clientFirstBare},${this.#serverFirst},${withoutProof}`;
    const signature = createHmac("sha256", storedKey).update(authMessage).digest();
    const recovered = xor(proof, signature);
    if (createHash("sha256").update(recovered).digest().compare(storedKey) !== 0) {
      throw new Error("bad proof");
    }
    const serverKey = createHmac("sha256", salted).update("Server Key").digest();
    return `v=${createHmac("sha256", serverKey).update(authMessage).digest("base64")}`;
  }
}

/** The test server; `await using` stops it. */
export class MongoWireServer implements AsyncDisposable {
  readonly #listener: Deno.Listener;
  readonly #options: WireServerOptions;
  readonly #cursors = new Map<bigint, Cursor>();
  readonly #connections = new Set<Deno.Conn>();
  #nextCursor = 1000n;
  #nextConnection = 1;
  /** Every command name received, in order. */
  readonly commands: string[] = [];
  /** The readConcern of every find, in order (undefined when none was sent). */
  readonly findReadConcerns: unknown[] = [];
  /** The cluster time a snapshot read without atClusterTime is given. */
  readonly clusterTime = new Timestamp({ t: 1_700_000_000, i: 7 });
  /** Set to make the next getMore drop its connection. */
  dropOnGetMore = false;
  /** Set to kill the cursor the next getMore asks for (as an operator's killCursors would). */
  killOnGetMore = false;
  /** Every namespace `create` made, in order. */
  readonly created: string[] = [];
  /** Every insert: where, how many documents, whether it bypassed validation. */
  readonly inserts: { ns: string; documents: number; bypass: boolean }[] = [];
  /** Every _mergeAuthzCollections. */
  readonly merges: { drop: boolean; db: string }[] = [];

  private constructor(listener: Deno.Listener, options: WireServerOptions) {
    this.#listener = listener;
    this.#options = options;
    void this.#accept();
  }

  /** Starts on a free port on 127.0.0.1. */
  static start(options: WireServerOptions): MongoWireServer {
    const listener = options.tls
      ? Deno.listenTls({ hostname: "127.0.0.1", port: 0, ...options.tls })
      : Deno.listen({ hostname: "127.0.0.1", port: 0 });
    return new MongoWireServer(listener, options);
  }

  /** The collections (and views) database `db` holds now. */
  collections(db: string): readonly WireCollection[] {
    return this.#options.databases[db] ?? [];
  }

  /** The port it listens on. */
  get port(): number {
    return (this.#listener.addr as Deno.NetAddr).port;
  }

  async #accept(): Promise<void> {
    try {
      for await (const conn of this.#listener) {
        this.#connections.add(conn);
        void this.#serve(conn, this.#nextConnection++).finally(() => {
          this.#connections.delete(conn);
          try {
            conn.close();
          } catch {
            // already closed
          }
        });
      }
    } catch {
      // listener closed
    }
  }

  async #serve(conn: Deno.Conn, connectionId: number): Promise<void> {
    let buffered = new Uint8Array(0);
    const state = { authenticated: !this.#options.user, scram: null as ScramConversation | null };
    const reader = conn.readable.getReader();
    const writer = conn.writable.getWriter();
    try {
      for (;;) {
        while (
          buffered.length < 4 ||
          buffered.length < new DataView(buffered.buffer, buffered.byteOffset).getInt32(0, true)
        ) {
          const { value, done } = await reader.read();
          if (done) return;
          const joined = new Uint8Array(buffered.length + value.length);
          joined.set(buffered);
          joined.set(value, buffered.length);
          buffered = joined;
        }
        const view = new DataView(buffered.buffer, buffered.byteOffset);
        const length = view.getInt32(0, true);
        const message = buffered.slice(0, length);
        buffered = buffered.slice(length);
        const reply = this.#handle(message, connectionId, state);
        if (reply === "drop") return;
        if (reply) await writer.write(reply);
      }
    } catch {
      // the client went away
    } finally {
      reader.releaseLock();
      writer.releaseLock();
    }
  }

  #handle(
    message: Uint8Array,
    connectionId: number,
    state: { authenticated: boolean; scram: ScramConversation | null },
  ): Uint8Array | null | "drop" {
    const view = new DataView(message.buffer, message.byteOffset);
    const requestId = view.getInt32(4, true);
    const opCode = view.getInt32(12, true);
    if (opCode === OP_QUERY) {
      // flags(4) fullCollectionName(cstring) skip(4) return(4) query(doc)
      let at = 20;
      while (message[at] !== 0) at++;
      at += 1 + 8;
      const query = deserialize(message.subarray(at), { promoteLongs: false });
      const body = this.#command(query, connectionId, state);
      if (body === "drop") return "drop";
      const out = new Uint8Array(16 + 20 + body.length);
      const dv = new DataView(out.buffer);
      dv.setInt32(0, out.length, true);
      dv.setInt32(4, requestId + 1, true);
      dv.setInt32(8, requestId, true);
      dv.setInt32(12, OP_REPLY, true);
      dv.setInt32(32, 1, true); // numberReturned
      out.set(body, 36);
      return out;
    }
    if (opCode !== OP_MSG) throw new Error(`unsupported opcode ${opCode}`);
    const flags = view.getUint32(16, true);
    // Bits 0 (checksum) and 1 (moreToCome) are known; other bits 0-15 are an error.
    if (flags & 0xfffc) throw new Error(`unknown required flag bits ${flags}`);
    const end = message.length - (flags & 1 ? 4 : 0);
    let at = 20;
    let body: Record<string, unknown> | null = null;
    const sequences: Record<string, Uint8Array[]> = {};
    while (at < end) {
      const kind = message[at++];
      const size = new DataView(message.buffer, message.byteOffset + at).getInt32(0, true);
      // Numbers as sent (a double 1.0 stays a double), as a server keeps them.
      if (kind === 0) body = deserialize(message.subarray(at, at + size), { promoteValues: false });
      else if (kind === 1) {
        // size, the field's name, then documents to the section's end, kept as sent.
        let p = at + 4;
        const nameStart = p;
        while (message[p] !== 0) p++;
        const field = new TextDecoder().decode(message.subarray(nameStart, p));
        p++;
        const docs: Uint8Array[] = [];
        while (p < at + size) {
          const length = new DataView(message.buffer, message.byteOffset + p).getInt32(0, true);
          docs.push(message.slice(p, p + length));
          p += length;
        }
        sequences[field] = docs;
      } else throw new Error(`unknown OP_MSG section kind ${kind}`);
      at += size;
    }
    if (!body) throw new Error("OP_MSG without a body section");
    Object.assign(body, { [SEQUENCES]: sequences });
    const reply = this.#command(body, connectionId, state);
    if (reply === "drop") return "drop";
    if (flags & 2) return null; // moreToCome: no answer
    const out = new Uint8Array(16 + 4 + 1 + reply.length);
    const dv = new DataView(out.buffer);
    dv.setInt32(0, out.length, true);
    dv.setInt32(4, requestId + 1, true);
    dv.setInt32(8, requestId, true);
    dv.setInt32(12, OP_MSG, true);
    out[20] = 0;
    out.set(reply, 21);
    return out;
  }

  #command(
    body: Record<string, unknown>,
    connectionId: number,
    state: { authenticated: boolean; scram: ScramConversation | null },
  ): Uint8Array | "drop" {
    const name = Object.keys(body)[0];
    this.commands.push(name);
    const ok = (fields: Record<string, unknown>) => serialize({ ...fields, ok: 1 });
    const fail = (code: number, codeName: string, errmsg: string) =>
      serialize({ ok: 0, errmsg, code, codeName });
    const db = String(body.$db ?? "admin");
    switch (name.toLowerCase()) {
      case "hello":
      case "ismaster": {
        const fields: Record<string, unknown> = {
          helloOk: true,
          ismaster: true,
          isWritablePrimary: true,
          maxBsonObjectSize: 16 * 1024 * 1024,
          maxMessageSizeBytes: 48_000_000,
          maxWriteBatchSize: 100_000,
          localTime: new Date(),
          logicalSessionTimeoutMinutes: 30,
          connectionId,
          minWireVersion: 0,
          maxWireVersion: 21,
          readOnly: false,
        };
        if (body.saslSupportedMechs) fields.saslSupportedMechs = ["SCRAM-SHA-256"];
        if (this.#options.replicaSet) {
          const me = `127.0.0.1:${this.port}`;
          Object.assign(fields, {
            setName: this.#options.replicaSet,
            setVersion: 1,
            hosts: [me],
            primary: me,
            me,
            electionId: new ObjectId("7fffffff0000000000000001"),
            lastWrite: { lastWriteDate: new Date() },
          });
        }
        return ok(fields);
      }
      case "saslstart": {
        if (!this.#options.user || body.mechanism !== "SCRAM-SHA-256") {
          return fail(2, "BadValue", "mechanism not supported");
        }
        if (db !== (this.#options.authDatabase ?? "admin")) {
          // The user exists only in its own database, as on a real server.
          return fail(18, "AuthenticationFailed", "Authentication failed.");
        }
        state.scram = new ScramConversation(this.#options.user);
        try {
          const payload = state.scram.start(
            new TextDecoder().decode((body.payload as Binary).buffer),
          );
          return ok({
            conversationId: 1,
            done: false,
            payload: new Binary(new TextEncoder().encode(payload)),
          });
        } catch {
          return fail(18, "AuthenticationFailed", "Authentication failed.");
        }
      }
      case "saslcontinue": {
        try {
          const final = state.scram!.finish(
            new TextDecoder().decode((body.payload as Binary).buffer),
          );
          state.authenticated = true;
          return ok({
            conversationId: 1,
            done: true,
            payload: new Binary(new TextEncoder().encode(final)),
          });
        } catch {
          return fail(18, "AuthenticationFailed", "Authentication failed.");
        }
      }
      case "ping":
      case "endsessions":
        return ok({});
      case "buildinfo": {
        const version = this.#options.version ?? "7.0.4";
        return ok({
          version,
          versionArray: version.split(".").map(Number).concat(0),
          gitVersion: "test",
        });
      }
    }
    if (!state.authenticated) {
      return fail(13, "Unauthorized", `command ${name} requires authentication`);
    }
    const collections = (d: string) => this.#options.databases[d] ?? [];
    switch (name) {
      case "listDatabases": {
        const databases = Object.keys(this.#options.databases).map((n) => ({
          name: n,
          sizeOnDisk: 4096,
          empty: false,
        }));
        return ok({ databases, totalSize: 4096 * databases.length });
      }
      case "listCollections": {
        const filterName = (body.filter as { name?: string } | undefined)?.name;
        const infos = collections(db).filter((c) => !filterName || c.name === filterName).map(
          (c) => {
            const type = c.type ?? "collection";
            const info: Record<string, unknown> = {
              name: c.name,
              type,
              options: c.options ?? {},
              info: {
                readOnly: type === "view",
                ...(c.uuid ? { uuid: new Binary(c.uuid, 4) } : {}),
              },
            };
            if (type === "collection") info.idIndex = { v: 2, key: { _id: 1 }, name: "_id_" };
            return serialize(info);
          },
        );
        return cursorReply("firstBatch", infos, 0n, `${db}.$cmd.listCollections`);
      }
      case "listIndexes": {
        const coll = collections(db).find((c) => c.name === body.listIndexes);
        if (!coll) {
          return fail(26, "NamespaceNotFound", `ns does not exist: ${db}.${body.listIndexes}`);
        }
        const indexes = (coll.indexes ?? [{ v: 2, key: { _id: 1 }, name: "_id_" }]).map((i) =>
          serialize(i)
        );
        return cursorReply("firstBatch", indexes, 0n, `${db}.$cmd.listIndexes.${coll.name}`);
      }
      case "dbStats": {
        const objects = collections(db).reduce((n, c) => n + (c.documents?.length ?? 0), 0);
        const dataSize = collections(db).reduce(
          (n, c) => n + (c.documents ?? []).reduce((m, d) => m + d.length, 0),
          0,
        );
        return ok({
          db,
          collections: collections(db).length,
          objects,
          avgObjSize: objects ? dataSize / objects : 0,
          dataSize,
          storageSize: dataSize,
        });
      }
      case "find": {
        const coll = collections(db).find((c) => c.name === body.find);
        const documents = coll?.documents ?? [];
        const first = Number(body.batchSize ?? 101);
        const ns = `${db}.${body.find}`;
        const readConcern = body.readConcern as
          | { level?: string; atClusterTime?: Timestamp }
          | undefined;
        this.findReadConcerns.push(readConcern);
        const at = readConcern?.level === "snapshot"
          ? readConcern.atClusterTime ?? this.clusterTime
          : undefined;
        const batch = documents.slice(0, first);
        if (documents.length <= first) return cursorReply("firstBatch", batch, 0n, ns, at);
        const id = this.#nextCursor++;
        this.#cursors.set(id, { ns, documents, position: first });
        return cursorReply("firstBatch", batch, id, ns, at);
      }
      case "getMore": {
        if (this.dropOnGetMore) {
          this.dropOnGetMore = false;
          return "drop";
        }
        const id = (body.getMore as Long).toBigInt();
        if (this.killOnGetMore) {
          this.killOnGetMore = false;
          this.#cursors.delete(id);
        }
        const cursor = this.#cursors.get(id);
        if (!cursor) return fail(43, "CursorNotFound", `cursor id ${id} not found`);
        const limit = Math.min(
          Number(body.batchSize ?? Infinity),
          this.#options.getMoreBatch ?? 1000,
        );
        const batch: Uint8Array[] = [];
        let bytes = 0;
        while (
          cursor.position < cursor.documents.length && batch.length < limit &&
          bytes < 16 * 1024 * 1024
        ) {
          const doc = cursor.documents[cursor.position++];
          batch.push(doc);
          bytes += doc.length;
        }
        const done = cursor.position >= cursor.documents.length;
        if (done) this.#cursors.delete(id);
        return cursorReply("nextBatch", batch, done ? 0n : id, cursor.ns);
      }
      case "count": {
        const coll = collections(db).find((c) => c.name === body.count);
        return ok({ n: coll?.documents?.length ?? 0 });
      }
      case "create": {
        const name = String(body.create);
        if (collections(db).some((c) => c.name === name)) {
          return fail(48, "NamespaceExists", `Collection ${db}.${name} already exists.`);
        }
        const options: Record<string, unknown> = {};
        for (const [key, value] of Object.entries(body)) {
          if (key !== "create" && key !== "idIndex" && !GENERIC_FIELDS.has(key)) {
            options[key] = value;
          }
        }
        const type = options.viewOn ? "view" : options.timeseries ? "timeseries" : "collection";
        const idIndex = body.idIndex as Record<string, unknown> | undefined;
        const list = this.#options.databases[db] ??= [];
        list.push({
          name,
          type,
          options,
          indexes: type === "view"
            ? []
            : [{ v: 2, ...(idIndex ?? { key: { _id: 1 }, name: "_id_" }) }],
          documents: [],
        });
        if (type === "timeseries") list.push({ name: `system.buckets.${name}`, documents: [] });
        this.created.push(`${db}.${name}`);
        return ok({});
      }
      case "drop": {
        const list = collections(db);
        const index = list.findIndex((c) => c.name === body.drop);
        if (index < 0) return fail(26, "NamespaceNotFound", `ns not found ${db}.${body.drop}`);
        const [dropped] = list.splice(index, 1);
        if (dropped.type === "timeseries") {
          const buckets = list.findIndex((c) => c.name === `system.buckets.${dropped.name}`);
          if (buckets >= 0) list.splice(buckets, 1);
        }
        return ok({ ns: `${db}.${body.drop}` });
      }
      case "dropDatabase":
        delete this.#options.databases[db];
        return ok({ dropped: db });
      case "insert": {
        const raw = (body as { [SEQUENCES]?: Record<string, Uint8Array[]> })[SEQUENCES]
          ?.documents ?? (body.documents as Record<string, unknown>[]).map((d) => serialize(d));
        const list = this.#options.databases[db] ??= [];
        let coll = list.find((c) => c.name === body.insert);
        if (!coll) list.push(coll = { name: String(body.insert), documents: [] });
        if (coll.type === "view") {
          return fail(166, "CommandNotSupportedOnView", `Namespace ${db}.${coll.name} is a view`);
        }
        // Unordered, as sent: every document with a new _id goes in, the others are write errors.
        const ids = idsOf(coll.documents ??= []);
        const writeErrors: Record<string, unknown>[] = [];
        raw.forEach((doc, index) => {
          const id = idOf(doc);
          if (ids.has(id)) {
            writeErrors.push({
              index,
              code: 11000,
              errmsg: `E11000 duplicate key error collection: ${db}.${
                coll!.name
              } index: _id_ dup key: { _id: ${id} }`,
            });
          } else {
            ids.add(id);
            coll!.documents!.push(doc);
          }
        });
        if (writeErrors.length) return ok({ n: raw.length - writeErrors.length, writeErrors });
        this.inserts.push({
          ns: `${db}.${coll.name}`,
          documents: raw.length,
          bypass: body.bypassDocumentValidation === true,
        });
        return ok({ n: raw.length });
      }
      case "createIndexes": {
        const coll = collections(db).find((c) => c.name === body.createIndexes);
        if (!coll) {
          return fail(26, "NamespaceNotFound", `ns does not exist: ${db}.${body.createIndexes}`);
        }
        for (const index of body.indexes as Record<string, unknown>[]) {
          (coll.indexes ??= [{ v: 2, key: { _id: 1 }, name: "_id_" }]).push({ v: 2, ...index });
        }
        return ok({ numIndexesBefore: 1, numIndexesAfter: coll.indexes!.length });
      }
      case "_mergeAuthzCollections": {
        if (db !== "admin") return fail(13, "Unauthorized", "_mergeAuthzCollections runs on admin");
        const admin = this.#options.databases.admin ??= [];
        for (
          const [field, target] of [["tempUsersCollection", "system.users"], [
            "tempRolesCollection",
            "system.roles",
          ]]
        ) {
          const from = body[field] as string | undefined;
          if (!from) continue;
          const temp = admin.find((c) => `admin.${c.name}` === from);
          let into = admin.find((c) => c.name === target);
          if (!into) admin.push(into = { name: target, documents: [] });
          if (body.drop === true) into.documents = [];
          into.documents!.push(...(temp?.documents ?? []));
        }
        this.merges.push({ drop: body.drop === true, db: String(body.db) });
        return ok({});
      }
      case "killCursors": {
        const ids = (body.cursors as Long[]).map((l) => l.toBigInt());
        for (const id of ids) this.#cursors.delete(id);
        return ok({
          cursorsKilled: ids.map((i) => Long.fromBigInt(i)),
          cursorsNotFound: [],
          cursorsAlive: [],
          cursorsUnknown: [],
        });
      }
    }
    return fail(59, "CommandNotFound", `no such command: '${name}'`);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    try {
      this.#listener.close();
    } catch {
      // closed
    }
    for (const conn of this.#connections) {
      try {
        conn.close();
      } catch {
        // closed
      }
    }
    await new Promise((r) => setTimeout(r, 10));
  }
}
