/** engines/mongodb/mongo_url.ts: mongodb:// URLs. */
import { DbType } from "@backupy/gen/backup/v1/common_pb.ts";
import { targetFromUrl, urlExtras } from "../../agent/local/target_url.ts";
import { parseMongoUrl } from "../../agent/engines/mongodb/mongo_url.ts";
import { UsageError } from "../../decrypt/errors.ts";
import { assert, assertEquals, assertThrows } from "../support/assert.ts";

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
    systemDatabases: undefined,
  });
  assertThrows(() => urlExtras("mongodb://h/?snapshot=maybe"), UsageError);
  assertEquals(urlExtras("mongodb://h/?systemDatabases=false").mongo?.systemDatabases, false);
  assertEquals(urlExtras("mongodb://h/?systemDatabases=false").mongo?.options, {});
  assertThrows(() => urlExtras("mongodb://h/?systemDatabases=no"), UsageError);
});
