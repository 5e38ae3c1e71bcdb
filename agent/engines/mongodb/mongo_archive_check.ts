/**
 * Walks a `mongodump --archive` stream as mongorestore's demultiplexer
 * would (docs/engines.md section 2), in bounded memory: the magic, the prelude,
 * every block, and every namespace's EOF block with the CRC-64/XZ of its
 * documents. It collects every problem instead of stopping at the first,
 * and counts the documents of each namespace.
 *
 * @module
 */
import { concatBytes } from "../../../decrypt/concat_bytes.ts";
import { deserialize } from "bson";
import { Crc64Xz } from "../../bytes/crc64.ts";
import { RowDigest } from "../../manifest/row_digest.ts";
import type { FormatCheck } from "../shared/format_check.ts";

const MAGIC = 0x8199e26d;
const TERMINATOR = -1;
const MAX_DOCUMENT = 16 * 1024 * 1024 + 16 * 1024;

/** Per namespace: documents seen and whether it was closed. */
interface Namespace {
  documents: number;
  crc: Crc64Xz;
  digest: RowDigest;
  closed: boolean;
  inPrelude: boolean;
}

/** The archive checker. */
export class MongoArchiveCheck implements FormatCheck {
  readonly format = "mongodump archive";
  #buffer = new Uint8Array(0);
  #state: "magic" | "header" | "prelude" | "blocks" | "broken" = "magic";
  #current: string | null = null;
  #lastWasTerminator = true;
  readonly #namespaces = new Map<string, Namespace>();
  readonly #problems: string[] = [];
  readonly #digestRows: boolean;

  /** `digestRows`: digest each document (the manifest level); else only count them. */
  constructor(digestRows = true) {
    this.#digestRows = digestRows;
  }

  update(chunk: Uint8Array): void {
    if (this.#state === "broken") return;
    const joined = concatBytes([this.#buffer, chunk]);
    let at = 0;
    const view = new DataView(joined.buffer);
    while (!this.#isBroken() && joined.length - at >= 4) {
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
    this.#buffer = joined.slice(at);
  }

  #isBroken(): boolean {
    return this.#state === "broken";
  }

  #break(problem: string): void {
    this.#problems.push(problem);
    this.#state = "broken";
  }

  #terminator(): void {
    if (this.#state === "header") return this.#break("a terminator where the header belongs");
    if (this.#state === "prelude") {
      this.#state = "blocks";
      return;
    }
    if (this.#lastWasTerminator) this.#problems.push("two terminators in a row");
    this.#lastWasTerminator = true;
    this.#current = null;
  }

  #document(doc: Uint8Array): void {
    if (this.#state === "header") {
      const header = deserialize(doc);
      if (header.version !== "0.1") {
        this.#problems.push(`archive version ${header.version}, not 0.1`);
      }
      this.#state = "prelude";
      return;
    }
    if (this.#state === "prelude") {
      const entry = deserialize(doc);
      const data = entry.type === "timeseries"
        ? `${entry.db}.system.buckets.${entry.collection}`
        : `${entry.db}.${entry.collection}`;
      this.#namespaces.set(data, {
        documents: 0,
        crc: new Crc64Xz(),
        digest: new RowDigest(),
        closed: false,
        inPrelude: true,
      });
      return;
    }
    if (this.#current !== null) {
      // A document of the open namespace.
      const ns = this.#namespaces.get(this.#current)!;
      ns.documents++;
      ns.crc.update(doc);
      if (this.#digestRows) ns.digest.add(doc);
      return;
    }
    if (!this.#lastWasTerminator) {
      this.#problems.push("a block header that does not follow a terminator");
    }
    this.#lastWasTerminator = false;
    const header = deserialize(doc, { promoteLongs: false });
    const name = `${header.db}.${header.collection}`;
    if (!header.collection) {
      return void this.#problems.push("a block header with an empty collection");
    }
    let ns = this.#namespaces.get(name);
    if (!ns) {
      this.#problems.push(`namespace ${name} is not in the prelude`);
      ns = {
        documents: 0,
        crc: new Crc64Xz(),
        digest: new RowDigest(),
        closed: false,
        inPrelude: false,
      };
      this.#namespaces.set(name, ns);
    }
    if (ns.closed) this.#problems.push(`namespace ${name} reappears after its EOF block`);
    if (header.EOF) {
      const stored = BigInt.asUintN(64, BigInt(header.CRC.toString()));
      const computed = ns.crc.value();
      if (stored !== computed) {
        this.#problems.push(
          `namespace ${name}: CRC ${stored.toString(16)} stored, ${
            computed.toString(16)
          } computed over ${ns.documents} documents`,
        );
      }
      ns.closed = true;
      return;
    }
    this.#current = name;
  }

  finish(): string[] {
    if (this.#state !== "broken") {
      if (this.#buffer.length > 0) {
        this.#problems.push(
          `the archive ends inside a document (${this.#buffer.length} bytes left)`,
        );
      } else if (this.#state !== "blocks") {
        this.#problems.push("the archive ends before its prelude does");
      } else if (!this.#lastWasTerminator) this.#problems.push("the archive ends inside a block");
      for (const [name, ns] of this.#namespaces) {
        if (ns.inPrelude && !ns.closed) this.#problems.push(`namespace ${name} has no EOF block`);
      }
    }
    return [...this.#problems];
  }

  /** Documents per namespace ("db.collection"), with their digest. */
  objects(): { name: string; rows: number; digest: string }[] {
    return [...this.#namespaces].map(([name, ns]) => ({
      name,
      rows: ns.documents,
      digest: ns.digest.hex(),
    }));
  }
}
