/**
 * Keeps a long stream's memory flat by releasing dead buffers promptly.
 *
 * Every chunk of a multi-gigabyte stream is a fresh ArrayBuffer (file
 * reads, Web Crypto results, decompressor output). V8 frees them only when a
 * GC runs, and its heuristics let tens of MiB of dead buffers pile up first:
 * a 10 MiB and a 10 GiB backup then differ by ~70 MiB of RSS. When the
 * runtime exposes `gc` (`--v8-flags=--expose-gc`, which the compiled
 * binaries and the deno tasks set), a minor GC - a young generation
 * scavenge, a millisecond or less - runs after every 4 MiB that passed, and
 * a full one every 32 MiB for buffers that lived long enough to be
 * promoted (frames waiting for Web Crypto). Measured on a 256 MiB decrypt:
 * peak RSS 91-96 MiB instead of 125-138 MiB without, and no slower.
 * Without `gc` this is a plain pass-through.
 *
 * The same places pass `--max-semi-space-size=2` (MiB): a stream that
 * allocates per row (a driver's object per document or row) otherwise
 * grows V8's young generation to its 16 MiB-per-semispace ceiling. Such
 * streams produce garbage that scavenges free, and full collections only
 * cost them time, so they can be turned off per stream.
 *
 * @module
 */

/** Bytes between two collections. */
export const RELEASE_EVERY = 4 * 1024 * 1024;
/** Every this many collections, a full (major) one. */
const MAJOR_EVERY = 8;

type Gc = (options?: { type?: "minor" | "major"; execution?: "sync" | "async" }) => void;

/** The runtime's `gc`, when exposed. */
function exposedGc(): Gc | undefined {
  const gc = (globalThis as { gc?: unknown }).gc;
  return typeof gc === "function" ? gc as Gc : undefined;
}

/**
 * A counter that collects garbage every `every` bytes it is told about; for
 * loops that are not streams (an upload reading a file).
 *
 * @example
 * ```ts
 * import { garbageReleaser } from "./garbage_release_stream.ts";
 * const passed = garbageReleaser();
 * passed(1024 * 1024); // after each chunk
 * ```
 */
export function garbageReleaser(
  every = RELEASE_EVERY,
  majorEvery = MAJOR_EVERY,
): (bytes: number) => void {
  const gc = exposedGc();
  if (gc === undefined) return () => {};
  let sinceLast = 0;
  let collections = 0;
  return (bytes) => {
    sinceLast += bytes;
    if (sinceLast >= every) {
      sinceLast = 0;
      gc({ type: ++collections % majorEvery === 0 ? "major" : "minor" });
    }
  };
}

/**
 * A pass-through stage that collects garbage every
 * {@linkcode RELEASE_EVERY} bytes (when `gc` is exposed).
 *
 * @example
 * ```ts
 * import { GarbageReleaseStream } from "./garbage_release_stream.ts";
 * const out = ReadableStream.from([new Uint8Array(3)]).pipeThrough(new GarbageReleaseStream());
 * console.assert((await new Response(out).bytes()).length === 3);
 * ```
 */
export class GarbageReleaseStream extends TransformStream<Uint8Array, Uint8Array> {
  /**
   * A new stage; `every` bytes between collections, a full one every
   * `majorEvery` collections (`Infinity`: scavenges only).
   */
  constructor(every = RELEASE_EVERY, majorEvery = MAJOR_EVERY) {
    const passed = garbageReleaser(every, majorEvery);
    super({
      transform(chunk, controller) {
        controller.enqueue(chunk);
        passed(chunk.length);
      },
    });
  }
}
