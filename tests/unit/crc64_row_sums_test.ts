/**
 * agent/bytes/crc64_row_sums.ts (through the row digest that uses it): the
 * WebAssembly summer gives exactly the sum of crc64.ts's CRC-64/XZ for rows
 * of every length, one at a time, in pairs and in runs, across batch
 * boundaries (row count and bytes), with rows larger than its stage, and
 * with several digests taking turns.
 */
import { Crc64Xz } from "../../agent/bytes/crc64.ts";
import { RowDigest } from "../../agent/manifest/row_digest.ts";
import { assertEquals } from "../support/assert.ts";

/** The digest as crc64.ts computes it: the sum of the rows' CRCs, modulo 2^64. */
function expectedHex(rows: Uint8Array[]): string {
  let total = 0n;
  for (const row of rows) {
    const crc = new Crc64Xz();
    crc.update(row);
    total = (total + crc.value()) & 0xffffffffffffffffn;
  }
  return total.toString(16).padStart(16, "0");
}

/** Deterministic bytes (the same rows every run). */
function rowsOf(lengths: number[], seed = 1): Uint8Array[] {
  let state = seed;
  return lengths.map((length) =>
    new Uint8Array(length).map(() => {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0;
      return state >>> 24;
    })
  );
}

/** The rows one after another, and where each ends. */
function joined(rows: Uint8Array[]): { bytes: Uint8Array; ends: Uint32Array } {
  const ends = new Uint32Array(rows.length);
  let at = 0;
  rows.forEach((row, i) => ends[i] = at += row.length);
  const bytes = new Uint8Array(at);
  rows.forEach((row, i) => bytes.set(row, ends[i] - row.length));
  return { bytes, ends };
}

Deno.test("row sums: every length from 0 to 300, row by row and as one run", () => {
  const rows = rowsOf(Array.from({ length: 301 }, (_, i) => i));
  const one = new RowDigest();
  for (const row of rows) one.add(row);
  assertEquals(one.hex(), expectedHex(rows));
  assertEquals(one.rows, 301);
  const run = new RowDigest();
  const { bytes, ends } = joined(rows);
  run.addRows(bytes, ends, rows.length);
  assertEquals(run.hex(), expectedHex(rows));
  assertEquals(run.rows, 301);
});

Deno.test("row sums: past the stage's row count and bytes, in one run and row by row", () => {
  // 40 000 short rows (more than a batch holds) and 3 000 of 1 000 bytes (more than its MiB).
  for (const lengths of [Array(40_000).fill(7), Array(3_000).fill(1_000)]) {
    const rows = rowsOf(lengths, lengths[0]);
    const run = new RowDigest();
    const { bytes, ends } = joined(rows);
    run.addRows(bytes, ends, rows.length);
    const single = new RowDigest();
    for (const row of rows) single.add(row);
    assertEquals(run.hex(), expectedHex(rows));
    assertEquals(single.hex(), run.hex());
  }
});

Deno.test("row sums: a row larger than the stage, alone, in a pair and inside a run", () => {
  const rows = rowsOf([5, 2 * 1024 * 1024 + 3, 0, 9]);
  const { bytes, ends } = joined(rows);
  const run = new RowDigest();
  run.addRows(bytes, ends, rows.length);
  assertEquals(run.hex(), expectedHex(rows));
  const single = new RowDigest();
  for (const row of rows) single.add(row);
  assertEquals(single.hex(), run.hex());
  const pair = new RowDigest();
  pair.addPair(rows[1].subarray(0, 10), rows[1].subarray(10));
  pair.addPair(rows[0], rows[3]);
  const joinedPair = new Uint8Array([...rows[0], ...rows[3]]);
  assertEquals(pair.hex(), expectedHex([rows[1], joinedPair]));
});

Deno.test("row sums: digests taking turns each get only their own rows", () => {
  const a = rowsOf([3, 40, 17, 0, 8], 11);
  const b = rowsOf([12, 1, 99, 64], 12);
  const digestA = new RowDigest();
  const digestB = new RowDigest();
  digestA.add(a[0]);
  digestB.add(b[0]);
  digestA.addPair(a[1], a[2]);
  const runB = joined(b.slice(1));
  digestB.addRows(runB.bytes, runB.ends, 3);
  // Asking one for its value in the middle changes neither.
  assertEquals(digestA.hex(), expectedHex([a[0], new Uint8Array([...a[1], ...a[2]])]));
  digestA.add(a[3]);
  digestA.add(a[4]);
  assertEquals(digestB.hex(), expectedHex(b));
  assertEquals(
    digestA.hex(),
    expectedHex([a[0], new Uint8Array([...a[1], ...a[2]]), a[3], a[4]]),
  );
  assertEquals(new RowDigest().hex(), "0000000000000000");
});
