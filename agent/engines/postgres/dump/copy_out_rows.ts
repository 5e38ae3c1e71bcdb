/**
 * The rows of a `COPY ... TO STDOUT`, taken off the connection's socket by
 * its {@linkcode CopyTap} while postgres.js runs the statement.
 *
 * postgres.js still sends the statement, makes its COPY stream when the
 * server answers with CopyOutResponse, ends it at CopyDone and reports a
 * server error by destroying it; the stream itself stays empty, because
 * the tap takes the rows before the driver sees them. So the only parts of
 * the driver used here are its documented ones: the `socket` option the tap
 * sits on, `readable()`, and the stream's `error` event.
 *
 * @module
 */
import { PieceSignals } from "../../shared/piece_signals.ts";
import type { CopyRowsSink, CopyTap } from "./copy_tap.ts";

/** The parts of postgres.js's COPY TO stream used here. */
interface CopyOutStream {
  on(event: "error", listener: (error: Error) => void): void;
  readonly errored?: Error | null;
}

/** What runs the COPY statement (a reserved postgres.js connection). */
export interface CopySql {
  unsafe(text: string): { readable(): Promise<unknown> };
}

/** Where the rows go: {@linkcode CopyRowsSink.rows}, true when a piece is full. */
export type CopyRows = CopyRowsSink["rows"];

/**
 * Runs `copyStatement` (a `COPY ... TO STDOUT`) on the connection `tap`
 * watches and gives its rows to `rows` as they arrive. Yields each time
 * `rows` returns true (a piece is full; nothing more is read until the
 * caller asks for the next one, though rows of the read under way still
 * come) and returns once the last row is in. Throws the server's or the
 * connection's error.
 */
export async function* copyOutRows(
  sql: CopySql,
  tap: CopyTap,
  copyStatement: string,
  rows: CopyRows,
): AsyncGenerator<void> {
  const signals = new PieceSignals();
  let finished = false;
  tap.arm({
    rows(source, spans, count) {
      const full = rows(source, spans, count);
      if (full) signals.full();
      return full;
    },
    end: () => signals.end(),
  });
  try {
    const stream = await sql.unsafe(copyStatement).readable() as CopyOutStream;
    stream.on("error", (error) => signals.fail(error));
    // An error in the same read as CopyOutResponse may have come before the listener.
    if (stream.errored) signals.fail(stream.errored);
    yield* signals.pieces(() => tap.resume());
    finished = true;
  } finally {
    tap.disarm();
    // The last full piece may have paused the socket; the connection's next query
    // needs it reading. A caller that stopped early leaves it paused: its
    // connection is closed, not used again.
    if (finished) tap.resume();
  }
}
