/**
 * `redis-cli --rdb -` from Redis 7.2/7.4 writes the diskless sync's 40-byte
 * EOF mark after the RDB (docs/engines.md section 1). This stream holds the last
 * 40 bytes back and, at the end, drops them when the RDB is complete without
 * them and not with them - so the output is exactly the RDB either way.
 * Anything else passes through unchanged for the RDB check to reject.
 *
 * @module
 */
import { concatBytes } from "../../../decrypt/concat_bytes.ts";
import { RdbTrailer } from "./rdb_format.ts";

/** Length of the diskless sync's EOF mark. */
const MARK = 40;

/** Passes an RDB through, minus a trailing EOF mark if there is one. */
export class RdbMarkCutStream extends TransformStream<Uint8Array, Uint8Array> {
  constructor() {
    const trailer = new RdbTrailer();
    let held = new Uint8Array(0);
    super({
      transform(chunk, controller) {
        const all = concatBytes([held, chunk]);
        const release = Math.max(0, all.length - MARK);
        if (release > 0) {
          const out = all.subarray(0, release);
          trailer.update(out);
          controller.enqueue(out);
        }
        held = all.slice(release);
      },
      flush(controller) {
        const completeWithoutMark = held.length === MARK && trailer.problem() === null;
        trailer.update(held);
        if (trailer.problem() !== null && completeWithoutMark) return;
        if (held.length) controller.enqueue(held);
      },
    });
  }
}
