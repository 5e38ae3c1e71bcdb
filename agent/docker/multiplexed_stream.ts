/**
 * Docker's multiplexed attach stream (an exec without a TTY): frames of an
 * 8-byte header - stream type (1 stdout, 2 stderr), three zero bytes, a
 * big-endian uint32 length - and that many payload bytes. This transform
 * passes stdout on as a stream and hands stderr to a callback, so the
 * consumer's backpressure reaches the socket.
 *
 * @module
 */

/** Stream types in a frame header. */
const STDOUT = 1;
const STDERR = 2;

/**
 * Splits a multiplexed stream: stdout flows on, stderr goes to `onStderr`.
 *
 * @example
 * ```ts ignore
 * socketStream.pipeThrough(new DemultiplexStream((bytes) => tail.push(bytes)));
 * ```
 */
export class DemultiplexStream extends TransformStream<Uint8Array, Uint8Array> {
  /** `onStderr` sees every stderr payload in order. */
  constructor(onStderr: (bytes: Uint8Array) => void) {
    const header = new Uint8Array(8);
    let headerLength = 0;
    let streamType = 0;
    let remaining = 0;
    super({
      transform(chunk, controller) {
        let offset = 0;
        while (offset < chunk.length) {
          if (remaining === 0) {
            const take = Math.min(8 - headerLength, chunk.length - offset);
            header.set(chunk.subarray(offset, offset + take), headerLength);
            headerLength += take;
            offset += take;
            if (headerLength < 8) return;
            headerLength = 0;
            streamType = header[0];
            remaining = new DataView(header.buffer).getUint32(4);
            if (streamType > STDERR) {
              throw new Error(`unexpected stream type ${streamType} in Docker's exec output`);
            }
            continue;
          }
          const take = Math.min(remaining, chunk.length - offset);
          const payload = chunk.subarray(offset, offset + take);
          offset += take;
          remaining -= take;
          if (streamType === STDOUT) controller.enqueue(payload);
          else if (streamType === STDERR) onStderr(payload);
        }
      },
      flush() {
        if (remaining > 0 || headerLength > 0) {
          throw new Error("Docker's exec output ended inside a frame");
        }
      },
    });
  }
}
