/**
 * Drives a `node:zlib` zstd handle synchronously, for compression and
 * decompression alike.
 *
 * Why not the `createZstd*()` streams themselves: in Deno 2.9 a zstd error
 * (corrupt data, checksum mismatch) is thrown as an uncaught exception from
 * a tick callback instead of being emitted as the stream's `error` event,
 * which would kill the process. The handle's synchronous `writeSync` - the
 * path `zstdDecompressSync` takes - throws where we can catch it. It is an
 * internal interface, pinned with Deno 2.9.6 and covered by the tests; this
 * file is the only place that touches it.
 *
 * @module
 */
import zlib from "node:zlib";

/** The parts of Deno's zlib handle used here. */
interface ZlibHandle {
  writeSync(
    flush: number,
    input: Uint8Array,
    inOffset: number,
    inLength: number,
    output: Uint8Array,
    outOffset: number,
    outLength: number,
  ): void;
  onerror: (message: string, errno: number) => void;
}

interface ZlibStreamInternals {
  _handle?: ZlibHandle;
  _writeState?: Uint32Array;
  close(): void;
}

const OUTPUT_SIZE = 256 * 1024;

/** A zstd compressor or decompressor driven with synchronous calls. */
export class SyncZlibHandle {
  #stream: ZlibStreamInternals;
  #handle: ZlibHandle;
  #state: Uint32Array;
  #error: string | null = null;
  #output = new Uint8Array(OUTPUT_SIZE);

  /** Wraps a stream made by `zlib.createZstdCompress()` or `createZstdDecompress()`. */
  constructor(stream: unknown) {
    const internals = stream as ZlibStreamInternals;
    if (typeof internals._handle?.writeSync !== "function" || !internals._writeState) {
      throw new Error("internal error: this Deno's node:zlib has no synchronous zstd binding");
    }
    this.#stream = internals;
    this.#handle = internals._handle;
    this.#state = internals._writeState;
    this.#handle.onerror = (message) => {
      this.#error = message;
    };
  }

  /**
   * Feeds `input` with `flush` (a `zlib.constants.ZSTD_e_*` value) and
   * yields the output piece by piece as the engine produces it, so a
   * consumer that stops pulling holds the engine (and memory) where it is:
   * a small input may expand enormously. Throws the engine's error message
   * as an `Error`.
   */
  *write(input: Uint8Array, flush: number): Generator<Uint8Array> {
    let inOffset = 0;
    let inLength = input.length;
    for (;;) {
      const output = this.#output;
      this.#handle.writeSync(flush, input, inOffset, inLength, output, 0, OUTPUT_SIZE);
      if (this.#error !== null) throw new Error(this.#error);
      const [availOut, availIn] = this.#state;
      const produced = OUTPUT_SIZE - availOut;
      inOffset += inLength - availIn;
      inLength = availIn;
      // Small pieces are copied out so the buffer is reused; big ones are handed on.
      if (produced > 0 && produced < OUTPUT_SIZE / 2) {
        yield output.slice(0, produced);
      } else if (produced > 0) {
        this.#output = new Uint8Array(OUTPUT_SIZE);
        yield output.subarray(0, produced);
      }
      // The engine stops when the output is full; otherwise it is done.
      if (availOut > 0) {
        if (inLength > 0) throw new Error("the engine stopped with input left over");
        return;
      }
    }
  }

  /** Releases the engine. */
  close(): void {
    this.#stream.close();
  }
}

/** A new synchronous zstd decompressor. */
export function zstdDecompressHandle(): SyncZlibHandle {
  return new SyncZlibHandle(zlib.createZstdDecompress());
}

/** A new synchronous zstd compressor at `level`, with the content checksum on. */
export function zstdCompressHandle(level: number): SyncZlibHandle {
  return new SyncZlibHandle(zlib.createZstdCompress({
    params: {
      [zlib.constants.ZSTD_c_compressionLevel]: level,
      [zlib.constants.ZSTD_c_checksumFlag]: 1,
    },
  }));
}

/** zstd flush modes. */
export const ZSTD_CONTINUE: number = zlib.constants.ZSTD_e_continue;
/** Ends the frame (compression) or marks the last input (decompression). */
export const ZSTD_END: number = zlib.constants.ZSTD_e_end;
