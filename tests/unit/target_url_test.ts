/** local/target_url.ts: local-mode target URLs, and errors that never repeat a password. */
import { assert, assertEquals, assertThrows } from "../support/assert.ts";
import { targetFromUrl, urlExtras } from "../../agent/local/target_url.ts";
import { UsageError } from "../../decrypt/errors.ts";
import { ConnectionStrategy, DbType } from "@backupy/gen/backup/v1/common_pb.ts";

Deno.test("local targets: sqlite URLs, clear errors that never repeat a password", () => {
  assertEquals(targetFromUrl("sqlite:///data/app%20x.db").connection?.database, "/data/app x.db");
  assertThrows(() => targetFromUrl("sqlite://relative.db"), UsageError, "three slashes");
  assertThrows(() => targetFromUrl("ftp://x"), UsageError, "--target must be a URL");
  const error = assertThrows(
    () => targetFromUrl("mongodb://u:hunter2@/db"),
    UsageError,
    "not a valid MongoDB URL",
  );
  assert(!error.message.includes("hunter2"));
  // A Redis URL's path is a logical database number (a scratch restore's), nothing else.
  assertEquals(targetFromUrl("redis://127.0.0.1:6379/7").connection?.database, "7");
  assertEquals(targetFromUrl("redis://127.0.0.1:6379").connection?.database, "");
  const path = assertThrows(
    () => targetFromUrl("redis://:hunter2@127.0.0.1/cache"),
    UsageError,
    "a database number",
  );
  assert(!path.message.includes("hunter2"));
});

Deno.test("docker:// local-mode URLs", () => {
  const pg = targetFromUrl("docker://shop-db");
  assertEquals(pg.type, DbType.DB_UNSPECIFIED);
  assertEquals(pg.connection?.strategy, ConnectionStrategy.DOCKER_EXEC);
  assertEquals(pg.connection?.containerId, "shop-db");
  assertEquals(targetFromUrl("docker://shop-db/orders").connection?.database, "orders");
  const typed = targetFromUrl("docker://app/data/app.db?type=sqlite");
  assertEquals([typed.type, typed.connection?.database], [DbType.SQLITE, "/data/app.db"]);
  assertEquals(
    targetFromUrl("docker://app/var/lib/app.sqlite3").connection?.database,
    "/var/lib/app.sqlite3",
  );
  const creds = targetFromUrl("docker://u:p%40ss@db");
  assertEquals([creds.connection?.username, creds.connection?.passwordSecretRef], ["u", "p@ss"]);
  assertThrows(() => targetFromUrl("docker://"), UsageError);
  assertThrows(() => targetFromUrl("docker://db?type=oracle"), UsageError);
});

Deno.test("docker:// URLs carry ?authSource= for a MongoDB user, and nothing else", () => {
  assertEquals(urlExtras("docker://db/shop?authSource=users"), { authSource: "users" });
  assertEquals(urlExtras("docker://db/shop?type=mongodb"), {});
  assertEquals(urlExtras("docker://db"), {});
});
