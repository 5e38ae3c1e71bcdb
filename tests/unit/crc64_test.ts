/**
 * agent/bytes/crc64.ts: both CRC-64 variants against their check values,
 * the per-row functions against the incremental class, and the row digest
 * built on them (its value is in every manifest, so it may never change).
 */
import {
  Crc64Jones,
  crc64JonesInto,
  Crc64Xz,
  crc64XzInto,
  crc64XzPairInto,
} from "../../agent/bytes/crc64.ts";
import { RowDigest } from "../../agent/manifest/row_digest.ts";
import { assertEquals } from "../support/assert.ts";

const text = (s: string) => new TextEncoder().encode(s);
const halves = (out: Uint32Array) => (BigInt(out[1]) << 32n) | BigInt(out[0]);

Deno.test('CRC-64 check values: XZ and Jones over "123456789"', () => {
  const xz = new Crc64Xz();
  xz.update(text("1234"));
  xz.update(text("56789"));
  assertEquals(xz.value(), 0x995dc9bbdf1939fan);
  const jones = new Crc64Jones();
  jones.update(text("123456789"));
  assertEquals(jones.value(), 0xe9c6d914c4b8d9can);
  const out = new Uint32Array(2);
  crc64XzInto(text("123456789"), out);
  assertEquals(halves(out), 0x995dc9bbdf1939fan);
});

Deno.test("per-row CRC equals the incremental one at every length, and a pair equals the joined bytes", () => {
  const bytes = new Uint8Array(300).map((_, i) => (i * 151 + 7) & 0xff);
  const out = new Uint32Array(2);
  for (let length = 0; length <= bytes.length; length += 13) {
    const row = bytes.subarray(3, 3 + Math.min(length, bytes.length - 3));
    const crc = new Crc64Xz();
    crc.update(row);
    crc64XzInto(row, out);
    assertEquals(halves(out), crc.value(), `length ${row.length}`);
    crc64XzPairInto(row.subarray(0, 5), row.subarray(5), out);
    assertEquals(halves(out), crc.value(), `pair, length ${row.length}`);
  }
});

Deno.test("CRC-64/Jones into halves equals the incremental one at every length (RESTORE payloads)", () => {
  const bytes = new Uint8Array(300).map((_, i) => (i * 37 + 11) & 0xff);
  const out = new Uint32Array(2);
  for (let length = 0; length <= bytes.length; length += 7) {
    const crc = new Crc64Jones();
    crc.update(bytes.subarray(0, length));
    crc64JonesInto(bytes.subarray(0, length), out);
    assertEquals(halves(out), crc.value(), `length ${length}`);
  }
  crc64JonesInto(new TextEncoder().encode("123456789"), out);
  assertEquals(halves(out), 0xe9c6d914c4b8d9can);
});

Deno.test("row digest: order does not matter, a changed or repeated row does; its value is fixed", () => {
  const rows = ["1\tann\n", "2\tbob\n", "3\t\\N\n"].map(text);
  const forward = new RowDigest();
  for (const row of rows) forward.add(row);
  const backward = new RowDigest();
  for (const row of [...rows].reverse()) backward.add(row);
  assertEquals(backward.hex(), forward.hex());
  assertEquals(forward.rows, 3);
  const changed = new RowDigest();
  for (const row of [rows[0], rows[1], text("3\t\\N \n")]) changed.add(row);
  assertEquals(changed.hex() === forward.hex(), false);
  const doubled = new RowDigest();
  for (const row of [rows[0], rows[0]]) doubled.add(row);
  assertEquals(doubled.hex() === new RowDigest().hex(), false);
  // The sum of the rows' CRC-64/XZ, modulo 2^64: what manifests written by every version hold.
  const sum = rows.reduce((total, row) => {
    const crc = new Crc64Xz();
    crc.update(row);
    return (total + crc.value()) & 0xffffffffffffffffn;
  }, 0n);
  assertEquals(forward.hex(), sum.toString(16).padStart(16, "0"));
});
