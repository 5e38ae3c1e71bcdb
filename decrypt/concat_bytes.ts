/**
 * Joins byte arrays into one new array: the one helper the format code and
 * the agent use wherever pieces of a stream must be seen together.
 *
 * @module
 */

/**
 * A new array holding `parts` one after the other.
 *
 * @example
 * ```ts
 * import { concatBytes } from "./concat_bytes.ts";
 * console.assert(concatBytes([new Uint8Array([1]), new Uint8Array([2, 3])]).length === 3);
 * ```
 */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array<ArrayBuffer> {
  let length = 0;
  for (const part of parts) length += part.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
