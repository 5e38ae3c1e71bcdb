/**
 * Growing a typed array that is filled from the front (a byte buffer, a
 * list of offsets), doubling so that appending stays linear.
 *
 * @module
 */

/** A typed array the helper can grow. */
type Growable = Uint8Array | Uint32Array;

/**
 * `array` itself when it holds `needed` elements; otherwise a new one of
 * the same kind, twice as large as often as it takes, with the first
 * `used` elements copied over.
 *
 * @example
 * ```ts
 * import { withRoom } from "./with_room.ts";
 * const grown = withRoom(new Uint32Array([7, 8]), 2, 5);
 * console.assert(grown.length === 8 && grown[1] === 8);
 * ```
 */
export function withRoom<T extends Growable>(array: T, used: number, needed: number): T {
  if (needed <= array.length) return array;
  let size = Math.max(array.length * 2, 1);
  while (size < needed) size *= 2;
  const grown = new (array.constructor as new (length: number) => T)(size);
  grown.set(array.subarray(0, used));
  return grown;
}
