/**
 * Turns an engine's raw byte stream into a {@linkcode DumpStream} whose end
 * is checked: a completeness check sees every chunk and, at the end, says
 * what is missing. A failed check errors the stream itself - so the
 * encrypted output never gets its terminator - and rejects `finished`.
 *
 * @module
 */
import { DumpError, type DumpStream } from "./engine.ts";

/** Watches a dump's bytes and judges them at the end. */
export interface CompletenessCheck {
  /** Sees each chunk in order. */
  update(chunk: Uint8Array): void;
  /** null when the dump is complete, else what is wrong (may wait, e.g. for an exit code). */
  problem(): string | null | Promise<string | null>;
}

/**
 * A text dump is complete when it ends with the line its writer always writes
 * last (`pattern`, anchored with `$`). Only the last 200 characters are kept.
 */
export class CompletionLineCheck implements CompletenessCheck {
  readonly #pattern: RegExp;
  #tail = "";

  /** `pattern` must match the end of a complete dump. */
  constructor(pattern: RegExp) {
    this.#pattern = pattern;
  }

  update(chunk: Uint8Array): void {
    this.#tail =
      (this.#tail + new TextDecoder().decode(chunk.subarray(Math.max(0, chunk.length - 200))))
        .slice(-200);
  }

  problem(): string | null {
    return this.#pattern.test(this.#tail) ? null : "the dump ended without its completion line";
  }
}

/** Options of {@linkcode checkedDump}. */
export interface CheckedDumpOptions {
  /** Runs when the stream ends or is cancelled (temporary files, connections). */
  cleanup?: () => Promise<void> | void;
  /** The message when the consumer cancels. */
  cancelled: string;
}

/**
 * Wraps `source` with `check`.
 *
 * @example
 * ```ts ignore
 * return checkedDump(snapshot, new RdbTrailer(), { cancelled: "the Redis dump was cancelled" });
 * ```
 */
export function checkedDump(
  source: ReadableStream<Uint8Array>,
  check: CompletenessCheck,
  options: CheckedDumpOptions,
): DumpStream {
  let resolveFinished: () => void;
  let rejectFinished: (error: Error) => void;
  const finished = new Promise<void>((resolve, reject) => {
    resolveFinished = resolve;
    rejectFinished = reject;
  });
  finished.catch(() => {});
  const readable = source.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        check.update(chunk);
        controller.enqueue(chunk);
      },
      async flush() {
        await options.cleanup?.();
        const problem = await check.problem();
        if (problem === null) return resolveFinished();
        const error = new DumpError(problem);
        rejectFinished(error);
        throw error;
      },
      async cancel() {
        await options.cleanup?.();
        rejectFinished(new DumpError(options.cancelled));
      },
    }),
  );
  return { readable, finished };
}
