/**
 * Just enough of the WebAssembly binary format to write a small module in
 * code: one memory, functions with i32/i64 parameters and locals, and the
 * instructions a byte-crunching loop needs. A hot loop in WebAssembly has
 * 64-bit integers and unaligned 8-byte loads, which JavaScript lacks; writing
 * the module here (rather than shipping a compiled blob) keeps its source
 * readable and reviewed like the rest.
 *
 * Encoding facts: the WebAssembly Core Specification 1.0, chapter 5 (binary
 * format): LEB128 integers, sections 1 (types), 3 (functions), 5 (memory),
 * 7 (exports), 10 (code).
 *
 * @module
 */

/** Value type i32. */
export const I32 = 0x7f;
/** Value type i64. */
export const I64 = 0x7e;

/** Unsigned LEB128. */
function unsigned(value: number): number[] {
  const out: number[] = [];
  do {
    let byte = value & 0x7f;
    value >>>= 7;
    if (value !== 0) byte |= 0x80;
    out.push(byte);
  } while (value !== 0);
  return out;
}

/** Signed LEB128 of a 32-bit integer (also what an i64 constant of that size needs). */
function signed(value: number): number[] {
  const out: number[] = [];
  for (;;) {
    const byte = value & 0x7f;
    value >>= 7;
    const done = (value === 0 && (byte & 0x40) === 0) || (value === -1 && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return out;
  }
}

const vector = (items: number[][]) => [...unsigned(items.length), ...items.flat()];
const section = (id: number, body: number[]) => [id, ...unsigned(body.length), ...body];
const name = (text: string) => vector([...new TextEncoder().encode(text)].map((b) => [b]));
/** A memory access's alignment hint (log2 bytes) and constant offset. */
const memory = (opcode: number, align: number, offset: number) => [
  opcode,
  align,
  ...unsigned(offset),
];

/** Instructions, each as its bytes; a function body is their concatenation. */
export const op = {
  block: [0x02, 0x40],
  loop: [0x03, 0x40],
  end: [0x0b],
  br: (depth: number) => [0x0c, ...unsigned(depth)],
  brIf: (depth: number) => [0x0d, ...unsigned(depth)],
  get: (local: number) => [0x20, ...unsigned(local)],
  set: (local: number) => [0x21, ...unsigned(local)],
  i32Load: (offset: number) => memory(0x28, 2, offset),
  i64Load: (offset: number) => memory(0x29, 3, offset),
  i32Load8: (offset: number) => memory(0x2d, 0, offset),
  i64Store: (offset: number) => memory(0x37, 3, offset),
  i32: (value: number) => [0x41, ...signed(value)],
  i64: (value: number) => [0x42, ...signed(value)],
  i32GeU: [0x4f],
  i32GtU: [0x4b],
  i32Add: [0x6a],
  i32And: [0x71],
  i32Xor: [0x73],
  i32Shl: [0x74],
  i64Add: [0x7c],
  i64Xor: [0x85],
  i64ShrU: [0x88],
  i32WrapI64: [0xa7],
};

/** One exported function. */
export interface WasmFunction {
  name: string;
  /** Parameter types; they are the first locals. */
  params: number[];
  /** Further locals, in order after the parameters. */
  locals: number[];
  /** Instructions, without the final `end`. */
  body: number[][];
}

/**
 * A module with one exported memory ("memory") of `pages` 64 KiB pages and
 * the given functions, exported by name, none returning a value.
 */
export function wasmModule(
  pages: number,
  functions: WasmFunction[],
): Uint8Array<ArrayBuffer> {
  const types = functions.map((f) => [0x60, ...vector(f.params.map((t) => [t])), 0]);
  const codes = functions.map((f) => {
    const code = [...vector(f.locals.map((t) => [1, t])), ...f.body.flat(), ...op.end];
    return [...unsigned(code.length), ...code];
  });
  return new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, vector(types)),
    ...section(3, vector(functions.map((_, i) => unsigned(i)))),
    ...section(5, vector([[0x00, ...unsigned(pages)]])),
    ...section(
      7,
      vector([
        [...name("memory"), 0x02, 0],
        ...functions.map((f, i) => [...name(f.name), 0x00, ...unsigned(i)]),
      ]),
    ),
    ...section(10, vector(codes)),
  ]);
}
