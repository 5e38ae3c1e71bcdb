/**
 * Walks a `pg_dump -Fc` archive as pg_restore reads one written to a pipe
 * (pg_backup_archiver.c and pg_backup_custom.c): the header, the table of
 * contents, then every data block - a type byte, the dump id, and the data
 * in length-prefixed chunks ending with a zero length; large objects as one
 * such chunk run per object id. The archive is whole when the table of
 * contents parses, every entry that has data got exactly one block, and the
 * stream ends right after the last block. Chunk contents are skipped, not
 * decompressed - except that with `digestRows`, the table data of an
 * uncompressed archive (`-Z0`, as the agent runs pg_dump when it compresses
 * the stream itself) is COPY text, and each table's rows are counted and
 * digested as in our own SQL dumps: one data line is one row.
 *
 * @module
 */
import { concatBytes } from "../../../decrypt/concat_bytes.ts";
import type { ManifestObject } from "../../manifest/backup_manifest.ts";
import { RowDigest } from "../../manifest/row_digest.ts";
import type { FormatCheck } from "../shared/format_check.ts";
import { LineSplitter } from "../shared/line_splitter.ts";
import { PG_CUSTOM_FORMAT } from "./postgres_format.ts";

/** Archive format versions (K_VERS_1_x) that change what an entry holds. */
const V = (minor: number) => (1 << 16) | (minor << 8);

/** Block types. */
const BLK_DATA = 1;
const BLK_BLOBS = 3;
/** _ReadExtraToc's offset flag: the entry has no data. */
const K_OFFSET_NO_DATA = 3;

/** More bytes are needed before this can be parsed. */
class NeedMore extends Error {}

/** A cursor over the buffered bytes; throws NeedMore at the end. */
class Cursor {
  at = 0;
  constructor(readonly bytes: Uint8Array, readonly intSize: number, readonly offSize: number) {}

  byte(): number {
    if (this.at >= this.bytes.length) throw new NeedMore();
    return this.bytes[this.at++];
  }

  /** ReadInt: a sign byte, then intSize bytes, little-endian. */
  int(): number {
    const negative = this.byte() !== 0;
    let value = 0;
    for (let i = 0; i < this.intSize; i++) value += this.byte() * 2 ** (8 * i);
    return negative ? -value : value;
  }

  /** ReadStr: an int length (negative: NULL), then the bytes. */
  str(): string | null {
    const length = this.int();
    if (length < 0) return null;
    if (this.at + length > this.bytes.length) throw new NeedMore();
    const text = new TextDecoder().decode(this.bytes.subarray(this.at, this.at + length));
    this.at += length;
    return text;
  }

  /** ReadOffset: a flag byte, then offSize bytes; returns the flag. */
  offsetFlag(): number {
    const flag = this.byte();
    for (let i = 0; i < this.offSize; i++) this.byte();
    return flag;
  }
}

/** One table-of-contents entry, as far as the check needs it. */
interface TocEntry {
  dumpId: number;
  desc: string;
  tag: string;
  namespace: string;
  hasData: boolean;
  blocks: number;
  dataBytes: number;
  /** The rows of an uncompressed table's data, when digesting. */
  rows?: { lines: LineSplitter; digest: RowDigest };
}

/** The pg_dump custom archive check. */
export class PgCustomCheck implements FormatCheck {
  /** The format's name in reports. */
  static readonly FORMAT = PG_CUSTOM_FORMAT.description;
  readonly format = PgCustomCheck.FORMAT;
  #buffer = new Uint8Array(0);
  #phase: "header" | "toc" | "blocks" | "broken" = "header";
  #version = 0;
  #intSize = 4;
  #offSize = 8;
  #tocCount = -1;
  readonly #entries = new Map<number, TocEntry>();
  readonly #order: TocEntry[] = [];
  readonly #problems: string[] = [];
  /** In the block phase: what is being read. */
  #block: { entry: TocEntry | null; type: number; chunkLeft: number; inBlob: boolean } | null =
    null;
  #midBlock = false;
  /** The archive's data is not compressed (pg_dump -Z0). */
  #uncompressed = false;
  readonly #digestRows: boolean;

  /** `digestRows`: digest each table's rows where the archive allows (the manifest level). */
  constructor(digestRows = false) {
    this.#digestRows = digestRows;
  }

  /** Data bytes of the block being read. */
  #data(bytes: Uint8Array): void {
    const entry = this.#block?.entry;
    if (!entry) return;
    entry.dataBytes += bytes.length;
    entry.rows?.lines.push(bytes);
  }

  update(chunk: Uint8Array): void {
    if (this.#phase === "broken") return;
    if (
      this.#phase === "blocks" && this.#block && this.#block.chunkLeft > 0 &&
      this.#buffer.length === 0
    ) {
      // The common case: inside a data chunk, nothing buffered - skip without copying.
      const skip = Math.min(this.#block.chunkLeft, chunk.length);
      this.#block.chunkLeft -= skip;
      this.#data(chunk.subarray(0, skip));
      chunk = chunk.subarray(skip);
      if (chunk.length === 0) return;
    }
    this.#buffer = concatBytes([this.#buffer, chunk]);
    try {
      this.#parse();
    } catch (error) {
      if (error instanceof NeedMore) return;
      this.#problems.push((error as Error).message);
      this.#phase = "broken";
    }
  }

  /**
   * Parses what is buffered, step by step, from a moving offset; only the
   * unparsed tail is kept. (pg_dump -Z0 writes every row as its own small
   * chunk: re-slicing the buffer per step made a 27 MB archive take 17 s.)
   */
  #parse(): void {
    let at = 0;
    let cursor = new Cursor(this.#buffer, this.#intSize, this.#offSize);
    try {
      for (;;) {
        cursor.at = at;
        if (this.#phase === "header") {
          this.#readHeader(cursor);
          // The header said how wide integers and offsets are.
          const end = cursor.at;
          cursor = new Cursor(this.#buffer, this.#intSize, this.#offSize);
          cursor.at = end;
        } else if (this.#phase === "toc") {
          if (this.#tocCount < 0) {
            this.#tocCount = cursor.int();
          } else if (this.#order.length < this.#tocCount) {
            this.#readEntry(cursor);
          } else {
            this.#phase = "blocks";
            continue;
          }
        } else if (this.#phase === "blocks") {
          if (!this.#readBlockStep(cursor)) return;
        } else {
          return;
        }
        at = cursor.at;
      }
    } finally {
      this.#buffer = this.#buffer.subarray(at);
    }
  }

  #readHeader(c: Cursor): void {
    if (this.#buffer.length - c.at < 5) throw new NeedMore();
    const magic = new TextDecoder().decode(this.#buffer.subarray(c.at, c.at + 5));
    if (magic !== "PGDMP") {
      throw new Error(`the archive starts with ${JSON.stringify(magic)}, not PGDMP`);
    }
    c.at += 5;
    const [major, minor, revision] = [c.byte(), c.byte(), c.byte()];
    this.#version = (major << 16) | (minor << 8) | revision;
    if (major !== 1 || minor < 12) {
      throw new Error(
        `archive version ${major}.${minor}.${revision} is not one pg_dump 11+ writes`,
      );
    }
    const intSize = c.byte();
    const offSize = c.byte();
    if (c.byte() !== 1) throw new Error("not a custom-format archive (format byte is not 1)");
    const header = new Cursor(this.#buffer, intSize, offSize);
    header.at = c.at;
    // Compression: an algorithm byte since 1.15 (0: none), a zlib level before (0: none).
    const compression = this.#version >= V(15) ? header.byte() : header.int();
    this.#uncompressed = compression === 0;
    for (let i = 0; i < 7; i++) header.int(); // creation time
    header.str(); // database name
    header.str(); // server version
    header.str(); // pg_dump version
    this.#intSize = intSize;
    this.#offSize = offSize;
    c.at = header.at;
    this.#phase = "toc";
  }

  #readEntry(c: Cursor): void {
    const dumpId = c.int();
    const hadDumper = c.int();
    c.str(); // tableoid
    c.str(); // oid
    const tag = c.str() ?? "";
    const desc = c.str() ?? "";
    c.int(); // section
    c.str(); // definition
    c.str(); // drop statement
    c.str(); // copy statement
    const namespace = c.str() ?? "";
    c.str(); // tablespace
    if (this.#version >= V(14)) c.str(); // table access method
    if (this.#version >= V(16)) c.int(); // relkind
    c.str(); // owner
    c.str(); // "with oids"
    while (c.str() !== null); // dependencies, ended by a NULL
    const dataFlag = c.offsetFlag();
    const entry: TocEntry = {
      dumpId,
      desc,
      tag,
      namespace,
      hasData: hadDumper !== 0 && dataFlag !== K_OFFSET_NO_DATA,
      blocks: 0,
      dataBytes: 0,
    };
    this.#entries.set(dumpId, entry);
    this.#order.push(entry);
  }

  /** Reads one step of the block phase; false when more bytes are needed first. */
  #readBlockStep(c: Cursor): boolean {
    const block = this.#block;
    if (block === null) {
      if (c.at >= this.#buffer.length) return false;
      const type = c.byte();
      const dumpId = c.int();
      if (type !== BLK_DATA && type !== BLK_BLOBS) throw new Error(`unknown block type ${type}`);
      const entry = this.#entries.get(dumpId) ?? null;
      if (!entry) {
        this.#problems.push(
          `a data block for dump id ${dumpId}, which the table of contents does not list`,
        );
      } else if (++entry.blocks > 1) {
        this.#problems.push(`${entry.desc} ${entry.tag}: more than one data block`);
      }
      if (
        entry && type === BLK_DATA && entry.desc === "TABLE DATA" && this.#uncompressed &&
        this.#digestRows
      ) {
        const digest = new RowDigest();
        // The data is what COPY TO wrote, then pg_dump's own "\.\n\n": no row from there on.
        let ended = false;
        const lines = new LineSplitter((line) => {
          if (ended) return;
          if (line.length === 3 && line[0] === 0x5c && line[1] === 0x2e) ended = true;
          else digest.add(line);
        });
        entry.rows = { lines, digest };
      }
      this.#block = { entry, type, chunkLeft: 0, inBlob: false };
      this.#midBlock = true;
      return true;
    }
    if (block.chunkLeft > 0) {
      const skip = Math.min(block.chunkLeft, this.#buffer.length - c.at);
      if (skip === 0) return false;
      this.#data(this.#buffer.subarray(c.at, c.at + skip));
      c.at += skip;
      block.chunkLeft -= skip;
      return true;
    }
    if (block.type === BLK_BLOBS && !block.inBlob) {
      const oid = c.int();
      if (oid === 0) {
        this.#block = null;
        this.#midBlock = false;
      } else {
        block.inBlob = true;
      }
      return true;
    }
    const length = c.int();
    if (length < 0) throw new Error(`a negative chunk length in ${block.entry?.tag ?? "a block"}`);
    if (length === 0) {
      if (block.type === BLK_BLOBS) {
        block.inBlob = false;
      } else {
        this.#block = null;
        this.#midBlock = false;
      }
    } else {
      block.chunkLeft = length;
    }
    return true;
  }

  finish(): string[] {
    const problems = [...this.#problems];
    if (this.#phase === "broken") return problems;
    if (this.#phase !== "blocks") {
      return [
        ...problems,
        `the archive ends inside its ${this.#phase === "header" ? "header" : "table of contents"}`,
      ];
    }
    if (this.#midBlock || this.#buffer.length > 0) {
      const where = this.#block?.entry
        ? `${this.#block.entry.desc} ${this.#block.entry.tag}`
        : "a block";
      problems.push(`the archive ends inside the data of ${where}: it was cut short`);
    }
    for (const entry of this.#order) {
      if (entry.hasData && entry.blocks === 0) {
        problems.push(
          `${entry.desc} ${
            entry.namespace ? `${entry.namespace}.` : ""
          }${entry.tag}: no data block`,
        );
      }
    }
    return problems;
  }

  objects(): ManifestObject[] {
    const tables = this.#order.filter((e) => e.rows);
    if (tables.length > 0) {
      return tables.map((e) => ({
        // Named as our SQL dumps' COPY lines name tables: every part quoted.
        name: `"${e.namespace.replaceAll('"', '""')}"."${e.tag.replaceAll('"', '""')}"`,
        rows: e.rows!.digest.rows,
        digest: e.rows!.digest.hex(),
      }));
    }
    // Rows are inside compressed chunks, not counted here: the data's bytes stand in.
    return this.#order.filter((e) => e.hasData).map((e) => ({
      name: `${e.desc} ${e.namespace ? `${e.namespace}.` : ""}${e.tag} (data bytes)`,
      rows: e.dataBytes,
    }));
  }
}
