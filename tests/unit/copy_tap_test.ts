/**
 * engines/postgres/dump/copy_tap.ts on server byte streams cut at every
 * possible place: the rows of an armed COPY reach the sink whole and in
 * order, everything else reaches the driver byte for byte, a full piece
 * pauses the socket until resumed, a reused read buffer is never kept, and
 * a broken message length ends the connection instead of throwing.
 */
import { Buffer } from "node:buffer";
import { concatBytes } from "../../decrypt/concat_bytes.ts";
import { type CopyRowsSink, CopyTap } from "../../agent/engines/postgres/dump/copy_tap.ts";
import { assert, assertEquals } from "../support/assert.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** One backend message: type byte, int32 length (itself included), body. */
function message(type: string, body: string | Uint8Array = ""): Uint8Array {
  const bytes = typeof body === "string" ? encoder.encode(body) : body;
  const out = new Uint8Array(5 + bytes.length);
  out[0] = type.charCodeAt(0);
  new DataView(out.buffer).setInt32(1, 4 + bytes.length);
  out.set(bytes, 5);
  return out;
}

/** Fails at the first byte where `actual` and `expected` differ (a diff of big arrays takes minutes). */
function assertSameBytes(actual: Uint8Array, expected: Uint8Array, label = ""): void {
  const n = Math.min(actual.length, expected.length);
  let at = 0;
  while (at < n && actual[at] === expected[at]) at++;
  if (at < n || actual.length !== expected.length) {
    throw new Error(
      `${label}: bytes differ at ${at} (lengths ${actual.length} and ${expected.length})`,
    );
  }
}

/** Fails unless `actual` lists the same texts as `expected`, naming the first that differs. */
function assertSameRows(actual: string[], expected: string[], label = ""): void {
  const at = expected.findIndex((row, i) => actual[i] !== row);
  if (at >= 0 || actual.length !== expected.length) {
    throw new Error(`${label}: rows differ at ${at} (counts ${actual.length}, ${expected.length})`);
  }
}

/** A socket that records what the tap does with it. */
class FakeSocket {
  delivered: Uint8Array[] = [];
  others: string[] = [];
  paused = false;
  destroyed: Error | undefined;
  emit(event: string | symbol, ...args: unknown[]): boolean {
    if (event === "data") {
      // Kept as given, as the driver keeps it: a view of a reused buffer would be wiped.
      const chunk = args[0] as Uint8Array;
      if (!Buffer.isBuffer(chunk)) {
        throw new Error("the driver was given bytes that are not a Buffer");
      }
      this.delivered.push(chunk);
    } else this.others.push(String(event));
    return true;
  }
  pause() {
    this.paused = true;
  }
  resume() {
    this.paused = false;
  }
  destroy(error?: Error) {
    this.destroyed = error;
  }
}

/** A sink that copies every row and says "full" every `fullEvery` calls (0: never). */
function recordingSink(fullEvery = 0) {
  const rows: string[] = [];
  let calls = 0;
  let ends = 0;
  const sink: CopyRowsSink = {
    rows(source, spans, count) {
      for (let i = 0; i < count; i++) {
        rows.push(decoder.decode(source.slice(spans[2 * i], spans[2 * i + 1])));
      }
      return fullEvery > 0 && ++calls % fullEvery === 0;
    },
    end: () => ends++,
  };
  return { sink, rows, ends: () => ends };
}

// A COPY's answer between two other queries' messages, with a notice among the rows
// and rows of every length up to beyond a read.
const rows = [
  "1\tone\n",
  "\n",
  "2\t" + "x".repeat(300) + "\n",
  "3\tthree\n",
  "4\t" + "y".repeat(70_000) + "\n",
  "5\tfive\n",
];
const before = [message("C", "SELECT 1\0"), message("Z", "T")];
const copyStart = message("H", new Uint8Array([0, 0, 2, 0, 0, 0, 0]));
const notice = message("N", "SNOTICE\0Mhello\0\0");
const copyEnd = [message("c"), message("C", "COPY 6\0"), message("Z", "T")];
const after = [message("T", "\0\0"), message("D", "\0\0"), message("Z", "I")];
const rowMessages = rows.map((row) => message("d", row));
const copyAnswer = concatBytes([
  copyStart,
  ...rowMessages.slice(0, 3),
  notice,
  ...rowMessages.slice(3),
  ...copyEnd,
]);
/** What the driver must see of the COPY's answer: all of it but the rows. */
const driverPart = concatBytes([copyStart, notice, ...copyEnd]);

/** Feeds `bytes` to the tap in reads of `size`, through one reused buffer wiped after each read. */
function feedReused(tap: CopyTap, bytes: Uint8Array, size: number, afterRead = () => {}) {
  const buffer = new Uint8Array(size);
  for (let at = 0; at < bytes.length; at += size) {
    const piece = bytes.subarray(at, at + size);
    buffer.set(piece);
    tap.read(buffer.subarray(0, piece.length));
    buffer.fill(0xee);
    afterRead();
  }
}

Deno.test("CopyTap: at every read size, armed rows go whole and in order to the sink and the rest to the driver unchanged", () => {
  for (const size of [1, 2, 3, 4, 5, 6, 7, 11, 64, 1000, 65536, copyAnswer.length]) {
    const socket = new FakeSocket();
    const tap = CopyTap.onReads(socket);
    const sink = recordingSink();
    feedReused(tap, concatBytes(before), size);
    tap.arm(sink.sink);
    feedReused(tap, copyAnswer, size);
    feedReused(tap, concatBytes(after), size);
    assertSameRows(sink.rows, rows, `read size ${size}`);
    assertEquals(sink.ends(), 1, `read size ${size}`);
    assertSameBytes(
      concatBytes(socket.delivered),
      concatBytes([...before, driverPart, ...after]),
      `size ${size}`,
    );
    assertEquals(socket.paused, false);
    assertEquals(socket.destroyed, undefined);
  }
});

Deno.test("CopyTap: unarmed, every byte goes to the driver, a CopyData too", () => {
  const socket = new FakeSocket();
  const tap = CopyTap.onReads(socket);
  const stream = concatBytes([...before, copyAnswer, ...after]);
  feedReused(tap, stream, 7);
  assertSameBytes(concatBytes(socket.delivered), stream);
});

Deno.test("CopyTap: a full piece pauses the socket; reads that still come wait, and resume goes on in order", () => {
  for (const size of [3, 40, 5000]) {
    const socket = new FakeSocket();
    const tap = CopyTap.onReads(socket);
    const sink = recordingSink(2);
    tap.arm(sink.sink);
    let pauses = 0;
    let queuedReads = 0;
    feedReused(tap, copyAnswer, size, () => {
      if (!socket.paused) return;
      pauses++;
      // The socket had one more read under way: it must wait, not reach the sink.
      const seen = sink.rows.length;
      if (queuedReads++ % 2 === 0) return; // resumed after the next read
      assertEquals(sink.rows.length, seen);
      tap.resume();
    });
    tap.resume();
    assert(pauses > 0, `no pause at read size ${size}`);
    assertSameRows(sink.rows, rows, `read size ${size}`);
    assertEquals(sink.ends(), 1);
    assertSameBytes(concatBytes(socket.delivered), driverPart, `read size ${size}`);
    assertEquals(socket.paused, false);
  }
});

Deno.test("CopyTap: while paused, a read is refused (false) and kept as a copy, not as a view of the reused buffer", () => {
  const socket = new FakeSocket();
  const tap = CopyTap.onReads(socket);
  const sink = recordingSink(1);
  tap.arm(sink.sink);
  const first = concatBytes([copyStart, rowMessages[0]]);
  assertEquals(tap.read(first), false);
  assertEquals(socket.paused, true);
  const rest = concatBytes([...rowMessages.slice(1), ...copyEnd]);
  const reused = rest.slice();
  assertEquals(tap.read(reused), false);
  reused.fill(0xee);
  assertSameRows(sink.rows, rows.slice(0, 1));
  for (let i = 0; i < 10 && socket.paused; i++) tap.resume();
  assertSameRows(sink.rows, rows);
  assertEquals(sink.ends(), 1);
});

Deno.test("CopyTap: an error in the middle of the rows goes to the driver and disarms; later CopyData is the driver's", () => {
  const socket = new FakeSocket();
  const tap = CopyTap.onReads(socket);
  const sink = recordingSink();
  tap.arm(sink.sink);
  const error = message("E", "SERROR\0C22012\0Mdivision by zero\0\0");
  const stray = message("d", "late\n");
  feedReused(tap, concatBytes([copyStart, rowMessages[0], error, message("Z", "I"), stray]), 9);
  assertSameRows(sink.rows, rows.slice(0, 1));
  assertEquals(sink.ends(), 0);
  assertSameBytes(
    concatBytes(socket.delivered),
    concatBytes([copyStart, error, message("Z", "I"), stray]),
  );
  // Disarmed: a new COPY can be armed.
  tap.arm(recordingSink().sink);
});

Deno.test("CopyTap: a message length under 4 destroys the socket with a reason instead of throwing", () => {
  const socket = new FakeSocket();
  const tap = CopyTap.onReads(socket);
  const broken = new Uint8Array([0x43, 0, 0, 0, 2, 0x5a, 0, 0, 0, 5, 0x49]);
  tap.read(broken);
  assert(socket.destroyed instanceof Error);
  assertEquals(socket.destroyed.message, "the server sent a message shorter than its header");
});

Deno.test("CopyTap: on a socket's own data events (TLS) other events pass untouched and data is tapped", () => {
  const socket = new FakeSocket();
  const tap = CopyTap.onEvents(socket);
  const sink = recordingSink();
  tap.arm(sink.sink);
  for (let at = 0; at < copyAnswer.length; at += 13) {
    socket.emit("data", Buffer.from(copyAnswer.subarray(at, at + 13)));
  }
  socket.emit("end");
  assertSameRows(sink.rows, rows);
  assertSameBytes(concatBytes(socket.delivered), driverPart);
  assertEquals(socket.others, ["end"]);
});

Deno.test("CopyTap: arming twice is an internal error", () => {
  const tap = CopyTap.onReads(new FakeSocket());
  tap.arm(recordingSink().sink);
  let thrown: unknown;
  try {
    tap.arm(recordingSink().sink);
  } catch (error) {
    thrown = error;
  }
  assert(thrown instanceof Error && thrown.message.includes("already tapped"));
});
