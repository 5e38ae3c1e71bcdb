/**
 * The sum, modulo 2^64, of the CRC-64/XZ of many rows - what a row digest
 * is made of (manifest/row_digest.ts) - computed in a small WebAssembly
 * module written by wasm_emitter.ts. Every dumped row goes through here
 * when the manifest is on: with 64-bit integers and 8-byte loads the
 * module does in about half the time what the JavaScript CRC in crc64.ts
 * does (slicing by 8, the same tables), and it takes a batch of rows per
 * call instead of one.
 *
 * Rows are staged in the module's memory (bytes, and where each row ends)
 * and summed when the stage is full or their owner asks. One stage serves
 * every digest: a digest adding a row while another's rows are staged
 * first gets those summed and handed to their owner. A row larger than the
 * stage is summed by crc64.ts directly.
 *
 * @module
 */
import { crc64XzInto, crc64XzPairInto, crc64XzTables } from "./crc64.ts";
import { I32, I64, op, wasmModule } from "./wasm_emitter.ts";

/** Takes the sums of its rows' CRCs, in [low, high] 32-bit halves. */
export interface RowSumOwner {
  addSum(lo: number, hi: number): void;
}

// Memory layout: the eight tables (8 x 256 i64), the batch's sum, the row
// ends (offsets into the data after the last byte of each row), the rows.
const TABLES = 0;
const SUM = 8 * 256 * 8;
const ENDS = SUM + 16;
const MAX_ROWS = 16 * 1024;
const DATA = ENDS + MAX_ROWS * 4;
const PAGES = 18;
/** Room for row bytes: about a MiB. */
const DATA_ROOM = PAGES * 65536 - DATA;

// sumRows(count): locals 0 count, 1 row, 2 at, 3 end (i32); 4 crc, 5 sum, 6 x (i64).
const [COUNT, ROW, AT, END, CRC, SUM_LOCAL, X] = [0, 1, 2, 3, 4, 5, 6];

/** Table `table`'s entry for byte `byte` (0 = lowest) of x. */
function lookup(table: number, byte: number): number[] {
  return [
    op.get(X),
    byte === 0 ? [] : [...op.i64(8 * byte), ...op.i64ShrU],
    op.i32WrapI64,
    byte === 7 ? [] : [...op.i32(0xff), ...op.i32And],
    op.i32(3),
    op.i32Shl,
    op.i64Load(TABLES + table * 256 * 8),
  ].flat();
}

/** Eight bytes a step: crc ^= the next 8 bytes; crc = xor of table[7 - j][byte j]. */
const EIGHT_BYTES = [
  op.block,
  op.loop,
  [...op.get(AT), ...op.i32(8), ...op.i32Add, ...op.get(END), ...op.i32GtU, ...op.brIf(1)],
  [...op.get(CRC), ...op.get(AT), ...op.i64Load(0), ...op.i64Xor, ...op.set(X)],
  lookup(7, 0),
  ...[1, 2, 3, 4, 5, 6, 7].map((byte) => [...lookup(7 - byte, byte), ...op.i64Xor]),
  op.set(CRC),
  [...op.get(AT), ...op.i32(8), ...op.i32Add, ...op.set(AT), ...op.br(0)],
  op.end,
  op.end,
];

/** Then byte by byte: crc = table[0][(crc ^ byte) & 0xff] ^ (crc >> 8). */
const ONE_BYTE = [
  op.block,
  op.loop,
  [...op.get(AT), ...op.get(END), ...op.i32GeU, ...op.brIf(1)],
  [...op.get(CRC), ...op.i32WrapI64, ...op.get(AT), ...op.i32Load8(0), ...op.i32Xor],
  [...op.i32(0xff), ...op.i32And, ...op.i32(3), ...op.i32Shl, ...op.i64Load(TABLES)],
  [...op.get(CRC), ...op.i64(8), ...op.i64ShrU, ...op.i64Xor, ...op.set(CRC)],
  [...op.get(AT), ...op.i32(1), ...op.i32Add, ...op.set(AT), ...op.br(0)],
  op.end,
  op.end,
];

/** For each staged row: CRC-64/XZ (init and xorout all ones), added to the sum. */
const SUM_ROWS = [
  [...op.i32(DATA), ...op.set(AT), ...op.i64(0), ...op.set(SUM_LOCAL)],
  op.block,
  op.loop,
  [...op.get(ROW), ...op.get(COUNT), ...op.i32GeU, ...op.brIf(1)],
  [...op.get(ROW), ...op.i32(2), ...op.i32Shl, ...op.i32Load(ENDS), ...op.i32(DATA), ...op.i32Add],
  [...op.set(END), ...op.i64(-1), ...op.set(CRC)],
  ...EIGHT_BYTES,
  ...ONE_BYTE,
  [
    ...op.get(SUM_LOCAL),
    ...op.get(CRC),
    ...op.i64(-1),
    ...op.i64Xor,
    ...op.i64Add,
    ...op.set(SUM_LOCAL),
  ],
  [...op.get(ROW), ...op.i32(1), ...op.i32Add, ...op.set(ROW), ...op.br(0)],
  op.end,
  op.end,
  [...op.i32(0), ...op.get(SUM_LOCAL), ...op.i64Store(SUM)],
];

const instance = new WebAssembly.Instance(
  new WebAssembly.Module(
    wasmModule(PAGES, [{
      name: "sumRows",
      params: [I32],
      locals: [I32, I32, I32, I64, I64, I64],
      body: SUM_ROWS,
    }]),
  ),
);
const memoryBuffer = (instance.exports.memory as WebAssembly.Memory).buffer;
const sumRowsInModule = instance.exports.sumRows as (count: number) => void;
const bytes = new Uint8Array(memoryBuffer);
const ends = new Uint32Array(memoryBuffer, ENDS, MAX_ROWS);
const sum = new Uint32Array(memoryBuffer, SUM, 2);
{
  const tables = crc64XzTables();
  const halves = new Int32Array(memoryBuffer, TABLES, 2 * tables.lo.length);
  for (let i = 0; i < tables.lo.length; i++) {
    halves[2 * i] = tables.lo[i];
    halves[2 * i + 1] = tables.hi[i];
  }
}

let owner: RowSumOwner | null = null;
let staged = 0;
let used = 0;
const single = new Uint32Array(2);

/** Sums what is staged and hands the sum to its owner. */
function flush(): void {
  if (staged > 0) {
    sumRowsInModule(staged);
    owner!.addSum(sum[0], sum[1]);
  }
  owner = null;
  staged = 0;
  used = 0;
}

/** Makes room for `length` bytes of `by`'s row, summing what stands in the way. */
function makeRoom(by: RowSumOwner, length: number): void {
  if (owner !== by || staged === MAX_ROWS || used + length > DATA_ROOM) flush();
  owner = by;
}

/**
 * Adds one row (`first`, then `second` as if joined) to `by`'s sum; it
 * reaches `by.addSum` with its batch, at the latest on {@linkcode flushRowSums}.
 */
export function stageRow(by: RowSumOwner, first: Uint8Array, second?: Uint8Array): void {
  const length = first.length + (second?.length ?? 0);
  if (length > DATA_ROOM) {
    if (second) crc64XzPairInto(first, second, single);
    else crc64XzInto(first, single);
    by.addSum(single[0], single[1]);
    return;
  }
  makeRoom(by, length);
  bytes.set(first, DATA + used);
  if (second) bytes.set(second, DATA + used + first.length);
  used += length;
  ends[staged++] = used;
}

/**
 * Adds `count` rows lying one after another in `rows`, row i ending at
 * `rowEnds[i]` (the first starting at 0), to `by`'s sum: one copy of
 * their bytes per batch rather than one per row.
 */
export function stageRows(
  by: RowSumOwner,
  rows: Uint8Array,
  rowEnds: Uint32Array,
  count: number,
): void {
  let start = 0;
  for (let i = 0; i < count; i++) {
    const end = rowEnds[i];
    if (end - start > DATA_ROOM) {
      stageRow(by, rows.subarray(start, end));
      start = end;
      continue;
    }
    // Rows are copied in runs: find how many of the following ones fit.
    makeRoom(by, end - start);
    let last = i;
    while (
      last + 1 < count && staged + (last + 1 - i) < MAX_ROWS &&
      used + rowEnds[last + 1] - start <= DATA_ROOM
    ) last++;
    bytes.set(rows.subarray(start, rowEnds[last]), DATA + used);
    for (let k = i; k <= last; k++) ends[staged++] = used + rowEnds[k] - start;
    used += rowEnds[last] - start;
    start = rowEnds[last];
    i = last;
  }
}

/** Sums `by`'s staged rows now, if any are staged. */
export function flushRowSums(by: RowSumOwner): void {
  if (owner === by) flush();
}
