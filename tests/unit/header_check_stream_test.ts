/** engines/shared/header_check_stream.ts: a dump must start as its format promises. */
import { assertEquals, assertRejects } from "../support/assert.ts";
import { HeaderCheckStream } from "../../agent/engines/shared/header_check_stream.ts";
import { DumpError } from "../../agent/engines/shared/engine.ts";
import { SQLITE_FORMAT } from "../../agent/engines/sqlite/sqlite_format.ts";

async function check(chunks: Uint8Array[]) {
  return await new Response(
    ReadableStream.from(chunks).pipeThrough(new HeaderCheckStream(SQLITE_FORMAT)),
  ).bytes();
}

Deno.test("header check: passes a real header through, rejects others, and an empty dump", async () => {
  const magic = new TextEncoder().encode("SQLite format 3\0rest");
  assertEquals(await check([magic.subarray(0, 3), magic.subarray(3)]), magic);
  await assertRejects(
    () => check([new TextEncoder().encode("<html>error page</html>")]),
    DumpError,
    "does not start like a SQLite database file",
  );
  await assertRejects(() => check([]), DumpError, "the dump is empty");
  await assertRejects(() => check([magic.subarray(0, 5)]), DumpError, "does not start like");
});
