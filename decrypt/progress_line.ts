/**
 * The progress line the CLI redraws on stderr while it works (only when
 * stderr is a terminal and `--quiet` is not given).
 *
 * @module
 */

const MIB = 1024 * 1024;

function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return `${h}:${String(m).padStart(2, "0")}:${String(s % 60).padStart(2, "0")}`;
}

/**
 * One progress line: bytes done (of total, with percent and ETA when the
 * total is known), MB/s, elapsed time.
 *
 * @example
 * ```ts
 * import { formatProgress } from "./progress_line.ts";
 * const line = formatProgress(50 * 1024 * 1024, 100 * 1024 * 1024, 1000);
 * console.assert(line === "50.0 MiB of 100.0 MiB  50%  52.4 MB/s  elapsed 0:00:01  ETA 0:00:01");
 * ```
 */
export function formatProgress(done: number, total: number | undefined, elapsedMs: number): string {
  const rate = elapsedMs > 0 ? done / (elapsedMs / 1000) : 0;
  const speed = `${(rate / 1e6).toFixed(1)} MB/s`;
  const doneText = `${(done / MIB).toFixed(1)} MiB`;
  const elapsed = `elapsed ${formatDuration(elapsedMs / 1000)}`;
  if (total === undefined || total <= 0) return `${doneText}  ${speed}  ${elapsed}`;
  const percent = Math.min(100, Math.floor((done / total) * 100));
  // An estimate can be short of the truth: never a negative ETA.
  const eta = rate > 0 ? formatDuration(Math.max(0, total - done) / rate) : "?";
  return `${doneText} of ${
    (total / MIB).toFixed(1)
  } MiB  ${percent}%  ${speed}  ${elapsed}  ETA ${eta}`;
}

/** Draws {@linkcode formatProgress} at once, then every 250 ms until stopped. */
export class ProgressLine {
  #timer: ReturnType<typeof setInterval> | undefined;
  #write: (text: string) => void;
  #started = performance.now();

  /** Reports `done()` of `total` bytes through `write` (stderr by default). */
  constructor(
    done: () => number,
    total: number | undefined,
    write: (text: string) => void = (text) => Deno.stderr.writeSync(new TextEncoder().encode(text)),
  ) {
    this.#write = write;
    const draw = () =>
      this.#write(`\r\x1b[2K${formatProgress(done(), total, performance.now() - this.#started)}`);
    // At once, so even a short run shows that something happened.
    draw();
    const timer = setInterval(draw, 250);
    Deno.unrefTimer(timer);
    this.#timer = timer;
  }

  /** Stops redrawing and clears the line. */
  stop(): void {
    if (this.#timer === undefined) return;
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#write("\r\x1b[2K");
  }
}
