/** engines/mongodb/mongo_archive.ts: archive metadata and EOF blocks. */
import { EJSON, Long } from "bson";
import {
  archiveServerVersion,
  collectionMetadata,
  encodeNamespaceEnd,
} from "../../agent/engines/mongodb/mongo_archive.ts";
import { MONGO_ARCHIVE_FORMAT } from "../../agent/engines/mongodb/mongo_archive_format.ts";
import { assert, assertEquals } from "../support/assert.ts";
import { crc64xz } from "../support/mongo_archive_reader.ts";
import { Crc64Xz } from "../../agent/bytes/crc64.ts";

Deno.test("archive metadata and EOF blocks", () => {
  const metadata = collectionMetadata({
    db: "shop",
    collection: "orders",
    type: "collection",
    options: {},
    indexes: [{ v: 2, key: { _id: 1 }, name: "_id_" }],
    uuid: "0102",
  });
  // Canonical Extended JSON, options left out when empty, in mongodump's order.
  assertEquals(
    metadata,
    '{"indexes":[{"v":{"$numberInt":"2"},"key":{"_id":{"$numberInt":"1"}},"name":"_id_"}],"uuid":"0102","collectionName":"orders","type":"collection"}',
  );
  const withOptions = EJSON.parse(collectionMetadata({
    db: "d",
    collection: "v",
    type: "view",
    options: { viewOn: "orders", pipeline: [] },
    indexes: [],
  })) as Record<string, unknown>;
  assertEquals(Object.keys(withOptions), ["options", "indexes", "collectionName", "type"]);
  assertEquals(archiveServerVersion("7.0.4-rc1"), "7.0.4");
  assertEquals(archiveServerVersion("6.0.13+ent"), "6.0.13");
  assertEquals(MONGO_ARCHIVE_FORMAT.checkHeader(new Uint8Array([0x6d, 0xe2, 0x99, 0x81])), null);
  assert(MONGO_ARCHIVE_FORMAT.checkHeader(new Uint8Array([0, 0, 0, 0])) !== null);
  // The CRC of the writer's CRC-64/XZ and the reader's independent one agree, as int64 bits.
  const data = [new TextEncoder().encode("123456789"), new Uint8Array(1000).fill(0xab)];
  const crc = new Crc64Xz();
  for (const d of data) crc.update(d);
  assertEquals(crc.value(), crc64xz(data));
  const end = encodeNamespaceEnd("d", "c", crc.value());
  assertEquals(end.subarray(0, 4), new Uint8Array([255, 255, 255, 255]));
  assert(crc.value() > 0x7fffffffffffffffn, "this CRC needs the sign bit: stored as int64");
  assertEquals(
    Long.fromBigInt(BigInt.asIntN(64, crc.value())).toBigInt(),
    BigInt.asIntN(64, crc.value()),
  );
});
