/**
 * A driver's Node readable (rows from mysql2, COPY data from postgres.js)
 * read as pieces: each chunk goes to `add` as its event comes (one call
 * per row, no promise per row), and when `add` says the piece is full the
 * stream is paused and the generator yields once, so the caller takes the
 * piece and memory stays bounded. Ends when the stream ends; throws the
 * stream's error, or one a watcher reports (a connection lost without
 * the stream saying so).
 *
 * @module
 */
import { PieceSignals } from "./piece_signals.ts";

/** The parts of a Node readable this reads. */
export interface PausableStream<T> {
  on(event: "data", listener: (chunk: T) => void): void;
  on(event: "end", listener: () => void): void;
  on(event: "error", listener: (error: Error) => void): void;
  pause(): void;
  resume(): void;
}

/**
 * Yields once each time `add` returns true (a piece is full; the stream is
 * paused until the caller has taken it and asks for more). What is left
 * when the stream ends is the caller's to take. `watch`, if given, gets a
 * function to report that the rows will not come (it fails the read unless
 * the stream already ended) and returns what undoes its watching.
 */
export async function* pausedStreamPieces<T>(
  stream: PausableStream<T>,
  add: (chunk: T) => boolean,
  watch?: (lost: (error?: Error) => void) => () => void,
): AsyncGenerator<void> {
  const signals = new PieceSignals();
  stream.on("data", (chunk) => {
    if (add(chunk)) {
      stream.pause();
      signals.full();
    }
  });
  stream.on("end", () => signals.end());
  stream.on("error", (error) => signals.fail(error));
  const unwatch = watch?.((error) => {
    if (!signals.settled) {
      signals.fail(error ?? new Error("the connection closed before the table's rows ended"));
    }
  });
  try {
    yield* signals.pieces(() => stream.resume());
  } finally {
    unwatch?.();
  }
}
