/**
 * Splits a `mongodump --archive` stream into what it holds, as
 * mongorestore's demultiplexer reads it (docs/engines.md section 2): the
 * header, the prelude's namespaces, then each namespace's documents, however
 * the blocks of several namespaces interleave, and each namespace's EOF with
 * its CRC-64/XZ checked. Fed chunk by chunk, it keeps at most one document
 * and one chunk in memory. Both the format check (which collects every
 * problem) and the MongoDB restore (which stops at the first) read archives
 * through it.
 *
 * @module
 */
import { deserialize } from "bson";
import { concatBytes } from "../../../decrypt/concat_bytes.ts";
import { Crc64Xz } from "../../bytes/crc64.ts";

const MAGIC = 0x8199e26d;
const TERMINATOR = -1;
/** The largest BSON document a server stores, and a little room for a block header. */
const MAX_DOCUMENT = 16 * 1024 * 1024 + 16 * 1024;

/** One namespace as the prelude lists it. */
export interface ArchiveNamespace {
  db: string;
  collection: string;
  /** "collection", "view" or "timeseries". */
  type: string;
  /** Canonical Extended JSON: options, indexes, uuid, collectionName, type. */
  metadata: string;
}

/** What the demultiplexer tells its reader, in stream order. */
export interface ArchiveEvents {
  /** A namespace of the prelude. */
  namespace?(entry: ArchiveNamespace): void;
  /** The prelude ended: every namespace is known. */
  preludeEnd?(): void;
  /**
   * One document of `ns` ("db.collection"; a time-series collection's data
   * is `db.system.buckets.name`). `document` is valid only during the call
   * unless copied or kept with its chunk.
   */
  document?(ns: string, document: Uint8Array): void;
  /** `ns` ended with its EOF block; its CRC matched unless a problem said otherwise. */
  namespaceEnd?(ns: string, documents: number): void;
  /** A rule of the format broken; after a fatal one nothing more is read. */
  problem(problem: string, fatal: boolean): void;
}

interface OpenNamespace {
  documents: number;
  crc: Crc64Xz;
  closed: boolean;
  inPrelude: boolean;
}

/** The archive, chunk by chunk, as events. */
export class ArchiveDemultiplexer {
  #buffer: Uint8Array = new Uint8Array(0);
  #state: "magic" | "header" | "prelude" | "blocks" | "broken" = "magic";
  #current: OpenNamespace | null = null;
  #currentName = "";
  #lastWasTerminator = true;
  readonly #namespaces = new Map<string, OpenNamespace>();
  readonly #events: ArchiveEvents;

  /** A demultiplexer that tells `events` what it reads. */
  constructor(events: ArchiveEvents) {
    this.#events = events;
  }

  /** Whether a fatal problem stopped the reading. */
  get broken(): boolean {
    return this.#state === "broken";
  }

  /** Reads `chunk`; what it completes is told to the events before this returns. */
  update(chunk: Uint8Array): void {
    if (this.#state === "broken") return;
    const joined = this.#buffer.length ? concatBytes([this.#buffer, chunk]) : chunk;
    const view = new DataView(joined.buffer, joined.byteOffset, joined.byteLength);
    let at = 0;
    while (!this.broken && joined.length - at >= 4) {
      if (this.#state === "magic") {
        if (view.getUint32(at, true) !== MAGIC) {
          return this.#break("the archive does not start with the magic 6d e2 99 81");
        }
        at += 4;
        this.#state = "header";
        continue;
      }
      const size = view.getInt32(at, true);
      if (size === TERMINATOR) {
        at += 4;
        this.#terminator();
        continue;
      }
      if (size < 5 || size > MAX_DOCUMENT) return this.#break(`a document length of ${size} bytes`);
      if (joined.length - at < size) break;
      const doc = joined.subarray(at, at + size);
      at += size;
      if (doc[size - 1] !== 0) return this.#break("a document that does not end with 00");
      this.#document(doc);
    }
    // The rest is copied: `chunk` may be reused by its producer.
    this.#buffer = joined.slice(at);
  }

  /** The end of the stream: what is still open or cut off is a problem. */
  finish(): void {
    if (this.#state === "broken") return;
    if (this.#buffer.length > 0) {
      return this.#break(`the archive ends inside a document (${this.#buffer.length} bytes left)`);
    }
    if (this.#state !== "blocks") return this.#break("the archive ends before its prelude does");
    if (!this.#lastWasTerminator) this.#problem("the archive ends inside a block");
    for (const [name, ns] of this.#namespaces) {
      if (ns.inPrelude && !ns.closed) this.#problem(`namespace ${name} has no EOF block`);
    }
  }

  /** Documents counted per namespace so far. */
  counts(): Map<string, number> {
    return new Map([...this.#namespaces].map(([name, ns]) => [name, ns.documents]));
  }

  #problem(problem: string): void {
    this.#events.problem(problem, false);
  }

  #break(problem: string): void {
    this.#state = "broken";
    this.#events.problem(problem, true);
  }

  #terminator(): void {
    if (this.#state === "header") return this.#break("a terminator where the header belongs");
    if (this.#state === "prelude") {
      this.#state = "blocks";
      this.#events.preludeEnd?.();
      return;
    }
    if (this.#lastWasTerminator) this.#problem("two terminators in a row");
    this.#lastWasTerminator = true;
    this.#current = null;
  }

  #document(doc: Uint8Array): void {
    if (this.#state === "header") {
      const header = deserialize(doc);
      if (header.version !== "0.1") this.#problem(`archive version ${header.version}, not 0.1`);
      this.#state = "prelude";
      return;
    }
    if (this.#state === "prelude") return this.#preludeEntry(doc);
    if (this.#current !== null) {
      this.#current.documents++;
      this.#current.crc.update(doc);
      this.#events.document?.(this.#currentName, doc);
      return;
    }
    this.#blockHeader(doc);
  }

  #preludeEntry(doc: Uint8Array): void {
    const entry = deserialize(doc);
    const namespace: ArchiveNamespace = {
      db: String(entry.db),
      collection: String(entry.collection),
      type: String(entry.type ?? "collection"),
      metadata: String(entry.metadata ?? "{}"),
    };
    const data = namespace.type === "timeseries"
      ? `${namespace.db}.system.buckets.${namespace.collection}`
      : `${namespace.db}.${namespace.collection}`;
    this.#namespaces.set(data, {
      documents: 0,
      crc: new Crc64Xz(),
      closed: false,
      inPrelude: true,
    });
    this.#events.namespace?.(namespace);
  }

  #blockHeader(doc: Uint8Array): void {
    if (!this.#lastWasTerminator) this.#problem("a block header that does not follow a terminator");
    this.#lastWasTerminator = false;
    const header = deserialize(doc, { promoteLongs: false });
    if (!header.collection) return this.#problem("a block header with an empty collection");
    const name = `${header.db}.${header.collection}`;
    let ns = this.#namespaces.get(name);
    if (!ns) {
      this.#problem(`namespace ${name} is not in the prelude`);
      ns = { documents: 0, crc: new Crc64Xz(), closed: false, inPrelude: false };
      this.#namespaces.set(name, ns);
    }
    if (ns.closed) this.#problem(`namespace ${name} reappears after its EOF block`);
    if (!header.EOF) {
      this.#current = ns;
      this.#currentName = name;
      return;
    }
    const stored = BigInt.asUintN(64, BigInt(header.CRC.toString()));
    const computed = ns.crc.value();
    if (stored !== computed) {
      this.#problem(
        `namespace ${name}: CRC ${stored.toString(16)} stored, ${
          computed.toString(16)
        } computed over ${ns.documents} documents`,
      );
    }
    ns.closed = true;
    this.#events.namespaceEnd?.(name, ns.documents);
  }
}
