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
  let full = false;
  let ended = false;
  let failure: Error | null = null;
  let wake: (() => void) | null = null;
  const notify = () => {
    wake?.();
    wake = null;
  };
  stream.on("data", (chunk) => {
    if (add(chunk)) {
      full = true;
      stream.pause();
      notify();
    }
  });
  stream.on("end", () => {
    ended = true;
    notify();
  });
  stream.on("error", (error) => {
    failure = error;
    notify();
  });
  const unwatch = watch?.((error) => {
    if (!ended && !failure) {
      failure = error ?? new Error("the connection closed before the table's rows ended");
    }
    notify();
  });
  try {
    for (;;) {
      if (failure) throw failure;
      if (full) {
        full = false;
        yield;
        stream.resume();
        continue;
      }
      if (ended) return;
      await new Promise<void>((resolve) => wake = resolve);
    }
  } finally {
    unwatch?.();
  }
}
