/**
 * Walks every entry of a Redis RDB snapshot as its bytes stream past, to
 * count each database's keys and digest them (restore verification's
 * manifest for Redis): per key, the CRC-64 of its type class and its name.
 * Values are skipped, not kept - a value of any size costs no memory -, and
 * are not in the digest: a server may store the same value in another
 * encoding after a restore (a listpack grown into a hash table), while the
 * keys and their types stay; the file's CRC-64 already covers the values.
 *
 * The grammar (rdb.h, rdb.c, Redis 2.6 - 7.2): opcodes AUX, SELECTDB,
 * RESIZEDB, EXPIRETIME(_MS), IDLE, FREQ, MODULE_AUX, FUNCTION2 (245), SLOT_INFO and
 * EOF; value types string, list, set, zset (1 and 2), hash, their ziplist,
 * listpack, intset and quicklist encodings, streams (v1-v3) and module
 * values. The AUX fields `repl-id` and `repl-offset` (written when the
 * snapshot was made for a replica, as the agent's SYNC does) are the
 * snapshot's place in the replication stream. A type this walk does not
 * know (Redis 7.4's hashes with field expiry, among others) ends the walk:
 * the snapshot then gets no key digests, not a wrong one.
 *
 * @module
 */
import { concatBytes } from "../../../decrypt/concat_bytes.ts";
import { RowDigest } from "../../manifest/row_digest.ts";

/** One database's keys. */
export interface RdbDatabase {
  name: string;
  keys: RowDigest;
}

/** Not enough bytes yet: the walk resumes when more arrive. */
type Wait = undefined;

/** A value type the walk cannot skip. */
class UnknownType extends Error {}

/** Type classes: the same for every encoding of a type. */
const CLASS: Record<number, string> = {
  0: "string",
  1: "list",
  10: "list",
  14: "list",
  18: "list",
  2: "set",
  11: "set",
  20: "set",
  3: "zset",
  5: "zset",
  12: "zset",
  17: "zset",
  4: "hash",
  9: "hash",
  13: "hash",
  16: "hash",
  15: "stream",
  19: "stream",
  21: "stream",
  7: "module",
};

/** `class:` as bytes, the start of each key's digested row. */
const PREFIX: Record<string, Uint8Array> = Object.fromEntries(
  [...new Set(Object.values(CLASS))].map((kind) => [kind, new TextEncoder().encode(`${kind}:`)]),
);

/** Value types stored as one string (an encoded blob). */
const BLOB_TYPES = new Set([9, 10, 11, 12, 13, 16, 17, 20]);

/**
 * One key of the snapshot as a restore needs it: its database, name, the
 * value exactly as the RDB encodes it (type byte apart), and the expiry and
 * eviction hints written before it.
 */
export interface RdbEntry {
  db: number;
  key: Uint8Array;
  /** The RDB value type (0 string, 14/18 quicklists, 15/19/21 streams, ...). */
  type: number;
  /** The value's bytes as they follow the key in the file. */
  value: Uint8Array;
  /** Absolute expiry in milliseconds, when the key has one. */
  expireAtMs?: number;
  /** Seconds since last access (LRU), when written. */
  idleSeconds?: number;
  /** The LFU frequency, when written. */
  frequency?: number;
}

/** What else a snapshot holds that a restore must replay or refuse. */
export type RdbExtra =
  | { kind: "function"; code: Uint8Array }
  | { kind: "module-aux"; moduleId: number };

/** The walker: feed bytes with {@linkcode RdbKeys.update}, then read the results. */
export class RdbKeys {
  readonly #chunks: Uint8Array[] = [];
  /** When set, every key is handed over with its value's bytes (a restore). */
  readonly #onEntry?: (entry: RdbEntry) => void;
  readonly #onExtra?: (extra: RdbExtra) => void;
  /** Pieces of the value being recorded, and where in the current chunk recording resumes. */
  #recording: Uint8Array[] | null = null;
  #recordFrom = 0;
  #current: Uint8Array = new Uint8Array(0);
  #pos = 0;
  readonly #walk: Generator<Wait, void, void>;
  #done = false;
  #stopped: string | null = null;
  #unknownType = false;
  /** Bytes fed so far. */
  #fed = 0;
  /** Where the entries ended: the offset just after the EOF opcode, once reached. */
  endOffset = -1;
  readonly databases = new Map<number, RdbDatabase>();
  /** AUX fields (redis-ver, repl-id, repl-offset, ...). */
  readonly aux = new Map<string, string>();

  /**
   * Counts and digests keys; with `onEntry`, also hands over every key with
   * its value's bytes (held one value at a time; a value may be a view of
   * a chunk given to {@linkcode RdbKeys.update}, so the caller must not
   * change a chunk while it keeps entries), and with `onExtra` the
   * functions and module data a restore must deal with.
   */
  constructor(
    restore: { onEntry?: (entry: RdbEntry) => void; onExtra?: (extra: RdbExtra) => void } = {},
  ) {
    this.#onEntry = restore.onEntry;
    this.#onExtra = restore.onExtra;
    this.#walk = this.#run();
    this.#walk.next();
  }

  /** The next bytes of the file. */
  update(chunk: Uint8Array): void {
    this.#fed += chunk.length;
    if (this.#done || chunk.length === 0) return;
    this.#chunks.push(chunk);
    try {
      if (this.#walk.next().done) {
        this.#done = true;
        const unread = this.#current.length - this.#pos +
          this.#chunks.reduce((sum, c) => sum + c.length, 0);
        this.endOffset = this.#fed - unread;
      }
    } catch (error) {
      this.#done = true;
      this.#stopped = (error as Error).message;
      this.#unknownType = error instanceof UnknownType;
    }
  }

  /** The walk stopped at a value type it does not know (not at malformed bytes). */
  get stoppedAtUnknownType(): boolean {
    return this.#unknownType;
  }

  /** Why the walk stopped short (malformed bytes, an unknown type); null while it goes on. */
  get error(): string | null {
    return this.#stopped;
  }

  /** Null when every entry up to EOF was walked; else why not. */
  problem(): string | null {
    if (this.#stopped !== null) return this.#stopped;
    return this.#done ? null : "the snapshot ends before its EOF opcode";
  }

  // --- byte access: fast when the bytes are there, a yield when not ---

  #available(): boolean {
    while (this.#pos >= this.#current.length) {
      const next = this.#chunks.shift();
      if (!next) return false;
      // A value being recorded keeps what it read of the chunk it leaves.
      if (this.#recording) {
        this.#recording.push(this.#current.slice(this.#recordFrom));
        this.#recordFrom = 0;
      }
      this.#current = next;
      this.#pos = 0;
    }
    return true;
  }

  #startRecording(): void {
    this.#recording = [];
    this.#recordFrom = this.#pos;
  }

  #stopRecording(): Uint8Array {
    const pieces = this.#recording!;
    this.#recording = null;
    // A value that lies in one chunk is a view of it: a copy would be an ArrayBuffer
    // (and the runtime's bookkeeping for it) per key, freed only by a full GC.
    if (pieces.length === 0) return this.#current.subarray(this.#recordFrom, this.#pos);
    // The joined copy is the value's own; the current chunk's part needs no copy before it.
    pieces.push(this.#current.subarray(this.#recordFrom, this.#pos));
    return concatBytes(pieces);
  }

  /** A little-endian integer of `n` bytes (expiry times). */
  *#littleEndian(n: number): Generator<Wait, number, void> {
    const bytes = yield* this.#take(n);
    let value = 0;
    for (let i = n - 1; i >= 0; i--) value = value * 256 + bytes[i];
    return value;
  }

  *#byte(): Generator<Wait, number, void> {
    while (!this.#available()) yield;
    return this.#current[this.#pos++];
  }

  /** Skips `n` bytes without keeping them. */
  *#skip(n: number): Generator<Wait, void, void> {
    while (n > 0) {
      while (!this.#available()) yield;
      const step = Math.min(n, this.#current.length - this.#pos);
      this.#pos += step;
      n -= step;
    }
  }

  /** Reads `n` bytes into a new array (small things: names, ids). */
  *#take(n: number): Generator<Wait, Uint8Array, void> {
    const out = new Uint8Array(n);
    let at = 0;
    while (at < n) {
      while (!this.#available()) yield;
      const step = Math.min(n - at, this.#current.length - this.#pos);
      out.set(this.#current.subarray(this.#pos, this.#pos + step), at);
      this.#pos += step;
      at += step;
    }
    return out;
  }

  /**
   * A length read straight from the current chunk, without a generator (the
   * common case); -1 when its bytes are not all there (nothing consumed).
   * Encoded-string lengths (top bits 11) come back as -2 - their encoding.
   */
  #lengthNow(): number {
    const bytes = this.#current;
    const at = this.#pos;
    if (at >= bytes.length) return -1;
    const first = bytes[at];
    switch (first >> 6) {
      case 0:
        this.#pos = at + 1;
        return first & 0x3f;
      case 1:
        if (at + 2 > bytes.length) return -1;
        this.#pos = at + 2;
        return ((first & 0x3f) << 8) | bytes[at + 1];
      case 2: {
        const size = first === 0x80 ? 4 : first === 0x81 ? 8 : -1;
        if (size < 0 || at + 1 + size > bytes.length) return -1;
        let n = 0;
        for (let i = 1; i <= size; i++) n = n * 256 + bytes[at + i];
        this.#pos = at + 1 + size;
        return n;
      }
      default:
        this.#pos = at + 1;
        return -2 - (first & 0x3f);
    }
  }

  /**
   * Skips a string that lies wholly in the current chunk, without a
   * generator; false (nothing consumed) when it does not.
   */
  #skipStringNow(): boolean {
    const start = this.#pos;
    const now = this.#lengthNow();
    let end = -1;
    if (now >= 0) end = this.#pos + now;
    else if (now <= -2 && now >= -4) end = this.#pos + (1 << (-2 - now));
    else if (now === -5) {
      const compressed = this.#lengthNow();
      if (compressed >= 0 && this.#lengthNow() >= 0) end = this.#pos + compressed;
    }
    if (end < 0 || end > this.#current.length) {
      this.#pos = start;
      return false;
    }
    this.#pos = end;
    return true;
  }

  /** A raw string that lies wholly in the current chunk (a view), or null (nothing consumed). */
  #stringNow(): Uint8Array | null {
    const start = this.#pos;
    const now = this.#lengthNow();
    if (now >= 0 && this.#pos + now <= this.#current.length) {
      this.#pos += now;
      return this.#current.subarray(this.#pos - now, this.#pos);
    }
    this.#pos = start;
    return null;
  }

  /** A length; `special` is set for the string encodings (top bits 11). */
  *#length(): Generator<Wait, { n: number; special: boolean }, void> {
    const first = yield* this.#byte();
    switch (first >> 6) {
      case 0:
        return { n: first & 0x3f, special: false };
      case 1:
        return { n: ((first & 0x3f) << 8) | (yield* this.#byte()), special: false };
      case 2: {
        const bytes = first === 0x80 ? 4 : first === 0x81 ? 8 : -1;
        if (bytes < 0) throw new Error(`a malformed length (0x${first.toString(16)})`);
        let n = 0;
        for (let i = 0; i < bytes; i++) n = n * 256 + (yield* this.#byte());
        return { n, special: false };
      }
      default:
        return { n: first & 0x3f, special: true };
    }
  }

  *#len(): Generator<Wait, number, void> {
    const now = this.#lengthNow();
    if (now >= 0) return now;
    if (now < -1) throw new Error("an encoded string where a length belongs");
    const { n, special } = yield* this.#length();
    if (special) throw new Error("an encoded string where a length belongs");
    return n;
  }

  /** Skips a string (raw, integer or LZF-compressed). */
  *#skipString(): Generator<Wait, void, void> {
    if (this.#skipStringNow()) return;
    // Across chunks: the same, a byte at a time.
    const { n, special } = yield* this.#length();
    if (!special) return yield* this.#skip(n);
    if (n <= 2) return yield* this.#skip(1 << n); // int8, int16, int32
    if (n !== 3) throw new Error(`an unknown string encoding ${n}`);
    const compressed = yield* this.#len();
    yield* this.#len(); // uncompressed length
    yield* this.#skip(compressed);
  }

  /**
   * Reads a string's bytes (small ones: key names, AUX fields); callers on
   * the hot path try {@linkcode RdbKeys.#stringNow} first.
   */
  *#string(): Generator<Wait, Uint8Array, void> {
    const { n, special } = yield* this.#length();
    if (!special) return yield* this.#take(n);
    if (n <= 2) {
      const raw = yield* this.#take(1 << n);
      let value = 0;
      for (let i = raw.length - 1; i >= 0; i--) value = value * 256 + raw[i];
      const bits = raw.length * 8;
      if (value >= 2 ** (bits - 1)) value -= 2 ** bits;
      return new TextEncoder().encode(String(value));
    }
    if (n !== 3) throw new Error(`an unknown string encoding ${n}`);
    const compressed = yield* this.#len();
    const length = yield* this.#len();
    return lzfDecompress(yield* this.#take(compressed), length);
  }

  *#skipValue(type: number): Generator<Wait, void, void> {
    if (type === 0 || BLOB_TYPES.has(type)) return yield* this.#skipString();
    switch (type) {
      case 1: // list
      case 2: // set
      case 14: { // quicklist of ziplists
        const n = yield* this.#len();
        for (let i = 0; i < n; i++) yield* this.#skipString();
        return;
      }
      case 4: { // hash
        const n = yield* this.#len();
        for (let i = 0; i < 2 * n; i++) yield* this.#skipString();
        return;
      }
      case 3: { // zset, scores as strings of their own length byte
        const n = yield* this.#len();
        for (let i = 0; i < n; i++) {
          yield* this.#skipString();
          const size = yield* this.#byte();
          if (size < 253) yield* this.#skip(size); // 253-255: nan, +inf, -inf
        }
        return;
      }
      case 5: { // zset, binary double scores
        const n = yield* this.#len();
        for (let i = 0; i < n; i++) {
          yield* this.#skipString();
          yield* this.#skip(8);
        }
        return;
      }
      case 18: { // quicklist of listpacks (or plain nodes)
        const n = yield* this.#len();
        for (let i = 0; i < n; i++) {
          yield* this.#len(); // container
          yield* this.#skipString();
        }
        return;
      }
      case 15:
      case 19:
      case 21:
        return yield* this.#skipStream(type);
      case 7:
        yield* this.#len(); // module type id
        return yield* this.#skipModuleValue();
      default:
        throw new UnknownType(`a value of type ${type}, which this walk does not know`);
    }
  }

  *#skipStream(type: number): Generator<Wait, void, void> {
    const listpacks = yield* this.#len();
    for (let i = 0; i < listpacks; i++) {
      yield* this.#skipString(); // master entry id
      yield* this.#skipString(); // listpack
    }
    yield* this.#len(); // length
    yield* this.#len(); // last id ms
    yield* this.#len(); // last id seq
    if (type >= 19) {
      for (let i = 0; i < 5; i++) yield* this.#len(); // first id, max deleted id, entries added
    }
    const groups = yield* this.#len();
    for (let g = 0; g < groups; g++) {
      yield* this.#skipString(); // name
      yield* this.#len(); // last id ms
      yield* this.#len(); // last id seq
      if (type >= 19) yield* this.#len(); // entries read
      const pending = yield* this.#len();
      for (let p = 0; p < pending; p++) {
        yield* this.#skip(16 + 8); // id, delivery time
        yield* this.#len(); // delivery count
      }
      const consumers = yield* this.#len();
      for (let c = 0; c < consumers; c++) {
        yield* this.#skipString(); // name
        yield* this.#skip(type >= 21 ? 16 : 8); // seen time (and active time)
        const owned = yield* this.#len();
        yield* this.#skip(16 * owned);
      }
    }
  }

  /** A module value in the self-describing (type 7) form, up to its EOF opcode. */
  *#skipModuleValue(): Generator<Wait, void, void> {
    for (;;) {
      const opcode = yield* this.#len();
      switch (opcode) {
        case 0:
          return;
        case 1:
        case 2:
          yield* this.#len();
          break;
        case 3:
          yield* this.#skip(4);
          break;
        case 4:
          yield* this.#skip(8);
          break;
        case 5:
          yield* this.#skipString();
          break;
        default:
          throw new Error(`a module value with an unknown opcode ${opcode}`);
      }
    }
  }

  #database(index: number): RdbDatabase {
    let db = this.databases.get(index);
    if (!db) {
      db = { name: `db${index}`, keys: new RowDigest() };
      this.databases.set(index, db);
    }
    return db;
  }

  *#run(): Generator<Wait, void, void> {
    yield* this.#skip(9); // REDIS0011
    let db = 0;
    // What the opcodes before a key say about it.
    let expireAtMs: number | undefined;
    let idleSeconds: number | undefined;
    let frequency: number | undefined;
    for (;;) {
      const opcode = this.#pos < this.#current.length
        ? this.#current[this.#pos++]
        : yield* this.#byte();
      switch (opcode) {
        case 0xff: // EOF
          return;
        case 0xfe: // SELECTDB
          db = yield* this.#len();
          break;
        case 0xfd: // EXPIRETIME (seconds)
          expireAtMs = (yield* this.#littleEndian(4)) * 1000;
          break;
        case 0xfc: // EXPIRETIME_MS
          expireAtMs = yield* this.#littleEndian(8);
          break;
        case 0xfb: // RESIZEDB
          yield* this.#len();
          yield* this.#len();
          break;
        case 0xfa: { // AUX
          const key = new TextDecoder().decode(yield* this.#string());
          const value = new TextDecoder().decode(yield* this.#string());
          this.aux.set(key, value);
          break;
        }
        case 0xf9: // IDLE
          idleSeconds = yield* this.#len();
          break;
        case 0xf8: // FREQ
          frequency = yield* this.#byte();
          break;
        case 0xf7: { // MODULE_AUX
          const moduleId = yield* this.#len();
          yield* this.#len(); // when opcode
          yield* this.#len(); // when
          yield* this.#skipModuleValue();
          this.#onExtra?.({ kind: "module-aux", moduleId });
          break;
        }
        case 0xf5: // FUNCTION2: one function library's code
          if (this.#onExtra) this.#onExtra({ kind: "function", code: yield* this.#string() });
          else yield* this.#skipString();
          break;
        case 0xf4: // SLOT_INFO
          for (let i = 0; i < 3; i++) yield* this.#len();
          break;
        default: {
          const kind = CLASS[opcode];
          if (kind === undefined) {
            throw new UnknownType(`a value of type ${opcode}, which this walk does not know`);
          }
          // Most keys and values lie wholly in the chunk: read them without generators.
          const key = this.#stringNow() ?? (yield* this.#string());
          // Digested before the value is skipped: `key` may be a view of this chunk.
          this.#database(db).keys.addPair(PREFIX[kind], key);
          const keyCopy = this.#onEntry ? key.slice() : undefined;
          if (this.#onEntry) this.#startRecording();
          const simple = opcode === 0 || BLOB_TYPES.has(opcode);
          if (!simple || !this.#skipStringNow()) yield* this.#skipValue(opcode);
          if (this.#onEntry) {
            this.#onEntry({
              db,
              key: keyCopy!,
              type: opcode,
              value: this.#stopRecording(),
              ...(expireAtMs !== undefined ? { expireAtMs } : {}),
              ...(idleSeconds !== undefined ? { idleSeconds } : {}),
              ...(frequency !== undefined ? { frequency } : {}),
            });
          }
          expireAtMs = idleSeconds = frequency = undefined;
        }
      }
    }
  }
}

/** LZF (liblzf's format, as Redis compresses strings): `compressed` to `length` bytes. */
export function lzfDecompress(compressed: Uint8Array, length: number): Uint8Array {
  const out = new Uint8Array(length);
  let i = 0;
  let o = 0;
  while (i < compressed.length) {
    const control = compressed[i++];
    if (control < 32) {
      const run = control + 1;
      if (o + run > length || i + run > compressed.length) break;
      out.set(compressed.subarray(i, i + run), o);
      i += run;
      o += run;
    } else {
      let run = control >> 5;
      if (run === 7) run += compressed[i++];
      const back = o - ((control & 0x1f) << 8) - compressed[i++] - 1;
      run += 2;
      if (back < 0 || o + run > length) break;
      for (let k = 0; k < run; k++) out[o++] = out[back + k];
    }
  }
  if (o !== length) throw new Error("an LZF-compressed string that does not decompress");
  return out;
}
