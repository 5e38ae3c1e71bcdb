/**
 * The rows of a `COPY ... TO STDOUT`, taken from postgres.js 3.4.9 as they
 * are parsed, without its per-row Node stream.
 *
 * postgres.js hands each CopyData message to a Node `Readable` with
 * `push(row)` and pauses the socket when `push` returns false; reading that
 * stream costs an event, a buffer list entry and a read per row, a tenth of
 * a PostgreSQL backup's time on a table of ten million short rows. Here the
 * stream's `push` is taken over the moment postgres.js makes the stream
 * (its query's `resolve`, called synchronously when CopyOutResponse
 * arrives, before any row): each row goes straight to `add`, and a full
 * piece pauses the socket the way a full stream would. The stream's own
 * `read` (postgres.js resumes the socket there) and its `error` event
 * (postgres.js destroys the stream when the connection fails) are used as
 * they are. Pinned with postgres 3.4.9 and covered by the dump tests; this
 * file is the only place that touches those internals.
 *
 * @module
 */
import { PieceSignals } from "../../shared/piece_signals.ts";

/** The parts of postgres.js's COPY TO stream used here. */
interface CopyOutStream {
  push(row: Uint8Array | null): boolean;
  _read(size: number): void;
  on(event: "error", listener: (error: Error) => void): void;
}

/** The parts of a postgres.js query used here. */
interface CopyQuery extends PromiseLike<unknown> {
  resolve: (value: unknown) => void;
  readable(): Promise<unknown>;
}

/** What runs the COPY statement (a reserved postgres.js connection). */
export interface CopySql {
  unsafe(text: string): unknown;
}

/**
 * Runs `copyStatement` (a `COPY ... TO STDOUT`) and gives each row, with its
 * newline, to `add` as it arrives. Yields each time `add` returns true (a
 * piece is full; no more rows are read until the caller asks for the next
 * one, though rows already received still come) and returns once the last
 * row is in. Throws the connection's error.
 */
export async function* copyOutRows(
  sql: CopySql,
  copyStatement: string,
  add: (row: Uint8Array) => boolean,
): AsyncGenerator<void> {
  let stream: CopyOutStream | undefined;
  let finished = false;
  let abandoned = false;
  const signals = new PieceSignals();
  const query = sql.unsafe(copyStatement) as CopyQuery;
  if (typeof query.resolve !== "function" || typeof query.readable !== "function") {
    throw new Error("internal error: this postgres.js has no COPY stream to take rows from");
  }
  const resolve = query.resolve;
  // The first resolve is the stream; the query's result, later, goes on as it came.
  query.resolve = (value) => {
    query.resolve = resolve;
    stream = value as CopyOutStream;
    stream.on("error", (error) => signals.fail(error));
    stream.push = (row) => {
      // A caller that stopped early gets nothing more; the socket stays paused.
      if (abandoned) return false;
      if (row === null) {
        signals.end();
      } else if (add(row)) {
        signals.full();
      } else {
        // True leaves the socket as it is: rows it already holds still come while a piece
        // waits, and it stays paused until the caller asks for more.
        return true;
      }
      // False pauses the socket; after a piece, and at the end, _read() resumes it.
      return false;
    };
    resolve(value);
  };
  await query.readable();
  try {
    yield* signals.pieces(() => stream!._read(0));
    finished = true;
  } finally {
    // The socket may be paused by the last row or the end; the connection's
    // next query needs it reading (a no-op when it is not paused).
    if (finished) stream?._read(0);
    else abandoned = true;
  }
}
