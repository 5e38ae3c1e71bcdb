/** MongoDB pieces that need no server: connection strings, which collections a dump takes, archive metadata. */
import { EJSON, Long } from "bson";
import { DbType } from "@backupy/gen/backup/v1/common_pb.ts";
import { batchSizeFor, dumpsCollection } from "../../agent/engines/mongodb/mongo_engine.ts";
import {
  archiveServerVersion,
  collectionMetadata,
  encodeNamespaceEnd,
} from "../../agent/engines/mongodb/mongo_archive.ts";
import { MONGO_ARCHIVE_FORMAT } from "../../agent/engines/mongodb/mongo_archive_format.ts";
import { targetFromUrl, urlExtras } from "../../agent/local/target_url.ts";
import { parseMongoUrl } from "../../agent/engines/mongodb/mongo_url.ts";
import { UsageError } from "../../decrypt/errors.ts";
import { assert, assertEquals, assertThrows } from "../support/assert.ts";
import { crc64xz } from "../support/mongo_archive_reader.ts";
import { Crc64Xz } from "../../agent/bytes/crc64.ts";

Deno.test("mongodb:// URLs: several hosts, credentials, options; the password never in an error", () => {
  const url = parseMongoUrl(
    "mongodb://us%40er:p%3Ass@a.example:27018,b.example/shop?authSource=admin&tls=true",
  );
  assertEquals(url.hosts, ["a.example:27018", "b.example:27017"]);
  assertEquals([url.username, url.password, url.database], ["us@er", "p:ss", "shop"]);
  assertEquals(url.options, { authSource: "admin", tls: "true" });
  const srv = parseMongoUrl("mongodb+srv://cluster0.example.net/");
  assertEquals([srv.srv, srv.hosts], [true, ["cluster0.example.net"]]);
  assertThrows(() => parseMongoUrl("mongodb+srv://a.example:27017/"), UsageError);
  const error = assertThrows(() => parseMongoUrl("mongodb://user:s3cret%ZZ@host/"), UsageError);
  assert(!error.message.includes("s3cret"));
  const target = targetFromUrl("mongodb://root:pw@127.0.0.1:27999/");
  assertEquals(target.type, DbType.MONGODB);
  assertEquals([target.connection?.host, target.connection?.port], ["127.0.0.1", 27999]);
  assertEquals(urlExtras("mongodb://h/?replicaSet=rs0&snapshot=false").mongo, {
    hosts: ["h:27017"],
    srv: false,
    options: { replicaSet: "rs0" },
    snapshot: false,
  });
  assertThrows(() => urlExtras("mongodb://h/?snapshot=maybe"), UsageError);
});

Deno.test("collections a dump takes, as mongodump: no system.* but system.js, no $ names", () => {
  assert(dumpsCollection("orders"));
  assert(dumpsCollection("system.js"));
  assert(!dumpsCollection("system.profile"));
  assert(!dumpsCollection("system.buckets.temps"));
  assert(!dumpsCollection("weird$name"));
});

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

Deno.test("find batches are sized for replies of about 256 KiB", () => {
  assertEquals(batchSizeFor(4096), 64);
  assertEquals(batchSizeFor(10), 10_000);
  assertEquals(batchSizeFor(8 * 1024 * 1024), 16);
  assertEquals(batchSizeFor(NaN), 1000);
  assertEquals(batchSizeFor(0), 1000);
});
