/**
 * Takes the rows of a `COPY ... TO STDOUT` off a PostgreSQL connection's
 * socket before the driver sees them.
 *
 * The driver (postgres.js) turns every CopyData message into two Buffer
 * views, a Node stream push and, at each socket read, a copy of the message
 * cut off at its end: on a table of ten million short rows that is a quarter
 * of a backup's time and most of its memory churn. The tap sits between the
 * socket and the driver: it follows the server's message framing (a type
 * byte and a 32-bit length, docs/engines.md section 4), and while a COPY is
 * armed it hands the CopyData bodies to a sink as offsets into the bytes
 * the socket read, with no object per row, and passes everything else on
 * unchanged (CopyOutResponse, CopyDone, CommandComplete, errors, notices):
 * the driver still runs the query and ends it, it just sees no rows.
 * Backpressure is the socket's own: a full piece pauses it.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { withRoom } from "../../../bytes/with_room.ts";

/** Where the rows of an armed COPY go. */
export interface CopyRowsSink {
  /**
   * `count` whole rows, row i being `source[spans[2i], spans[2i+1])`, in
   * order (each row is one CopyData body, newline included). Returns true
   * when the piece being built is full: the tap then stops reading.
   */
  rows(source: Uint8Array, spans: Uint32Array, count: number): boolean;
  /** The rows ended (CopyDone). */
  end(): void;
}

/** The part of a Node socket the tap drives. */
export interface TappedSocket {
  emit(event: string | symbol, ...args: unknown[]): boolean;
  pause(): unknown;
  resume(): unknown;
  destroy(error?: Error): unknown;
}

const COPY_DATA = 0x64; // 'd'
const COPY_DONE = 0x63; // 'c'
const ERROR_RESPONSE = 0x45; // 'E'
const READY_FOR_QUERY = 0x5a; // 'Z'
const HEADER = 5;
/** Room for a row cut by a read that is kept between rows; a larger row gets its own. */
const CARRY_KEPT = 64 * 1024;

/**
 * The framing follower on one connection's socket; made by the socket
 * factory before the driver's first byte, so it starts at a message.
 */
export class CopyTap {
  readonly #socket: TappedSocket;
  /** Hands bytes to the driver (the socket's own `data` event). */
  readonly #deliver: (chunk: Uint8Array) => void;
  /** Whether the bytes given to {@linkcode CopyTap.read} lie in a buffer the next read reuses. */
  readonly #reused: boolean;
  /** Header bytes of the message under way, when a read cut its header. */
  readonly #header = new Uint8Array(HEADER);
  #headerFill = 0;
  /** Body bytes of the message under way still to come. */
  #bodyLeft = 0;
  /** Whether the message under way is a row being taken. */
  #taking = false;
  /** A row cut by a read: its first part, waiting for the rest. */
  #carry = new Uint8Array(CARRY_KEPT);
  #carryLength = 0;
  readonly #carrySpan = new Uint32Array(2);
  #sink: CopyRowsSink | null = null;
  #spans = new Uint32Array(2 * 1024);
  #count = 0;
  #full = false;
  #paused = false;
  readonly #waiting: Uint8Array[] = [];

  private constructor(
    socket: TappedSocket,
    deliver: (chunk: Uint8Array) => void,
    reused: boolean,
  ) {
    this.#socket = socket;
    this.#deliver = deliver;
    this.#reused = reused;
  }

  /**
   * A tap fed by the socket's reads into one reused buffer (Node's
   * `onread` option): the caller passes each read to
   * {@linkcode CopyTap.read}; the driver gets its bytes as `data` events.
   */
  static onReads(socket: TappedSocket): CopyTap {
    const emit = socket.emit.bind(socket);
    return new CopyTap(socket, (chunk) => emit("data", chunk), true);
  }

  /** A tap on the socket's own `data` events (a TLS socket, whose reads are its own). */
  static onEvents(socket: TappedSocket): CopyTap {
    const emit = socket.emit.bind(socket);
    const tap = new CopyTap(socket, (chunk) => emit("data", chunk), false);
    socket.emit = (event, ...args) => {
      if (event !== "data") return emit(event, ...args);
      tap.read(args[0] as Uint8Array);
      return true;
    };
    return tap;
  }

  /**
   * Bytes the socket read. Returns false once reading should stop (a piece
   * is full), as Node's `onread` callback does.
   */
  read(chunk: Uint8Array): boolean {
    // A paused socket may still deliver what it had read; it waits its turn.
    if (this.#paused) this.#waiting.push(this.#reused ? chunk.slice() : chunk);
    else this.#process(chunk);
    return !this.#paused;
  }

  /**
   * Sends the rows of the next COPY on this connection to `sink`; armed
   * before the statement is sent. Disarmed by CopyDone, an error or the
   * end of the query.
   */
  arm(sink: CopyRowsSink): void {
    if (this.#sink) throw new Error("internal: a COPY is already tapped on this connection");
    this.#sink = sink;
  }

  /** Stops taking rows: what comes next goes to the driver. */
  disarm(): void {
    this.#sink = null;
  }

  /** Reads on after a full piece was taken. */
  resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    this.#full = false;
    while (this.#waiting.length > 0 && !this.#paused) this.#process(this.#waiting.shift()!);
    if (!this.#paused) this.#socket.resume();
  }

  #process(chunk: Uint8Array): void {
    const passed: Uint8Array[] = [];
    let passFrom = 0;
    let at = 0;
    const length = chunk.length;
    while (at < length) {
      if (this.#bodyLeft > 0) {
        const n = Math.min(this.#bodyLeft, length - at);
        this.#bodyLeft -= n;
        at += n;
        if (this.#taking) {
          // The rest of a row a read cut: it never goes to the driver.
          this.#carryPart(chunk, at - n, at);
          passFrom = at;
          if (this.#bodyLeft === 0) {
            this.#taking = false;
            this.#carryRow();
          }
        }
        continue;
      }
      // A message starts at `at`, or its header was cut by the last read.
      let type: number;
      let bodyLength: number;
      const headerStart = at;
      if (this.#headerFill === 0 && length - at >= HEADER) {
        type = chunk[at];
        bodyLength = ((chunk[at + 1] << 24) | (chunk[at + 2] << 16) | (chunk[at + 3] << 8) |
          chunk[at + 4]) - 4;
        at += HEADER;
      } else {
        const n = Math.min(HEADER - this.#headerFill, length - at);
        this.#header.set(chunk.subarray(at, at + n), this.#headerFill);
        this.#headerFill += n;
        at += n;
        if (this.#headerFill < HEADER) {
          // The rest of the header comes with the next read; a row's header goes nowhere.
          if (this.#sink && this.#header[0] === COPY_DATA) {
            if (headerStart > passFrom) passed.push(chunk.subarray(passFrom, headerStart));
            passFrom = length;
          }
          break;
        }
        const h = this.#header;
        type = h[0];
        bodyLength = ((h[1] << 24) | (h[2] << 16) | (h[3] << 8) | h[4]) - 4;
        this.#headerFill = 0;
      }
      if (bodyLength < 0) {
        // Not the protocol: nothing after this can be read as messages.
        this.#socket.destroy(new Error("the server sent a message shorter than its header"));
        return;
      }
      if (this.#sink && type === COPY_DATA) {
        // A row: its header (whole or the part in this read) is not passed on.
        if (headerStart > passFrom) passed.push(chunk.subarray(passFrom, headerStart));
        if (length - at >= bodyLength) {
          this.#span(at, at + bodyLength);
          at += bodyLength;
          passFrom = at;
        } else {
          this.#flush(chunk);
          this.#taking = true;
          this.#bodyLeft = bodyLength;
          passFrom = length;
        }
        continue;
      }
      if (type === COPY_DONE || type === ERROR_RESPONSE || type === READY_FOR_QUERY) {
        const sink = this.#sink;
        if (sink) {
          this.#flush(chunk);
          this.#sink = null;
          if (type === COPY_DONE) sink.end();
        }
      }
      this.#bodyLeft = bodyLength;
    }
    this.#flush(chunk);
    if (passFrom < length) passed.push(passFrom === 0 ? chunk : chunk.subarray(passFrom, length));
    if (this.#full) {
      this.#paused = true;
      this.#socket.pause();
    }
    // The driver may keep what it gets past this read: bytes of a reused buffer go as a copy.
    if (passed.length > 1) this.#deliver(Buffer.concat(passed));
    else if (passed.length === 1) {
      this.#deliver(this.#reused ? Buffer.from(passed[0]) : passed[0]);
    }
  }

  /** Notes a whole row of the current read. */
  #span(from: number, to: number): void {
    this.#spans = withRoom(this.#spans, 2 * this.#count, 2 * this.#count + 2);
    this.#spans[2 * this.#count] = from;
    this.#spans[2 * this.#count + 1] = to;
    this.#count++;
  }

  /** Hands the rows noted in `chunk` to the sink. */
  #flush(chunk: Uint8Array): void {
    if (this.#count === 0) return;
    const count = this.#count;
    this.#count = 0;
    if (this.#sink?.rows(chunk, this.#spans, count)) this.#full = true;
  }

  #carryPart(chunk: Uint8Array, from: number, to: number): void {
    const needed = this.#carryLength + to - from;
    this.#carry = withRoom(this.#carry, this.#carryLength, needed);
    this.#carry.set(chunk.subarray(from, to), this.#carryLength);
    this.#carryLength = needed;
  }

  /** The row cut by a read is whole: it goes to the sink on its own. */
  #carryRow(): void {
    this.#carrySpan[1] = this.#carryLength;
    this.#carryLength = 0;
    if (this.#sink?.rows(this.#carry, this.#carrySpan, 1)) this.#full = true;
    // One huge row must not keep its room for the rest of the connection.
    if (this.#carry.length > CARRY_KEPT) this.#carry = new Uint8Array(CARRY_KEPT);
  }
}
