/** Small agent pieces: backoff, slots, endpoint URL, redaction, logger, header check, target URLs. */
import { assert, assertEquals, assertRejects, assertThrows } from "../support/assert.ts";
import { Backoff } from "../../agent/control/backoff.ts";
import { websocketUrl } from "../../agent/control/server_endpoint.ts";
import { RunSlots } from "../../agent/runs/run_slots.ts";
import { redactText } from "../../agent/log/redact.ts";
import { Logger } from "../../agent/log/logger.ts";
import { Secret } from "../../decrypt/secret.ts";
import { HeaderCheckStream } from "../../agent/engines/shared/header_check_stream.ts";
import { DumpError } from "../../agent/engines/shared/engine.ts";
import { targetFromUrl } from "../../agent/local/target_url.ts";
import { UsageError } from "../../decrypt/errors.ts";
import { selfUpdateRefusal } from "../../agent/update/self_update_policy.ts";
import { SQLITE_FORMAT } from "../../agent/engines/sqlite/sqlite_format.ts";

Deno.test("backoff: 1 s doubling to a 60 s cap, +-20% jitter, reset", () => {
  const mid = new Backoff({ random: () => 0.5 });
  assertEquals(Array.from({ length: 8 }, () => mid.next()), [
    1000,
    2000,
    4000,
    8000,
    16000,
    32000,
    60000,
    60000,
  ]);
  mid.reset();
  assertEquals(mid.next(), 1000);
  assertEquals(new Backoff({ random: () => 0 }).next(), 800);
  assertEquals(new Backoff({ random: () => 0.999999 }).next(), 1200);
  assertEquals(new Backoff({ random: () => 0.5 }).atCap(), 60000);
});

Deno.test("server URL rules of wire-protocol.md section 2", () => {
  assertEquals(websocketUrl("https://api.backupy.ru"), "wss://api.backupy.ru/v1/agents/connect");
  assertEquals(websocketUrl("https://api.backupy.ru/"), "wss://api.backupy.ru/v1/agents/connect");
  assertEquals(
    websocketUrl("wss://backupy.tronosfera.ru/agents/connect"),
    "wss://backupy.tronosfera.ru/agents/connect",
  );
  assertEquals(websocketUrl("http://127.0.0.1:8080"), "ws://127.0.0.1:8080/v1/agents/connect");
});

Deno.test("slots: at most N runs, never two on one target, in arrival order", async () => {
  let max = 2;
  const slots = new RunSlots(() => max);
  const signal = new AbortController().signal;
  const a = await slots.acquire("t1", signal);
  const order: string[] = [];
  const b = slots.acquire("t1", signal).then((release) => (order.push("t1-second"), release));
  const c = await slots.acquire("t2", signal);
  const d = slots.acquire("t3", signal).then((release) => (order.push("t3"), release));
  await new Promise((r) => setTimeout(r, 10));
  assertEquals(order, []);
  a();
  (await b)();
  c();
  (await d)();
  assertEquals(order, ["t1-second", "t3"]);
  max = 1;
  const e = await slots.acquire("t1", signal);
  const cancel = new AbortController();
  const f = slots.acquire("t2", cancel.signal);
  cancel.abort(new Error("cancelled"));
  await assertRejects(() => f, Error, "cancelled");
  e();
});

Deno.test("redaction removes URL queries and credentials", () => {
  assertEquals(
    redactText(
      "PUT https://s3.example/b/k.enc?X-Amz-Signature=abcdef&X-Amz-Credential=AKIA failed",
    ),
    "PUT https://s3.example/b/k.enc?<redacted> failed",
  );
  assertEquals(redactText("mysql://root:hunter2@db:3306/app"), "mysql://<redacted>@db:3306/app");
});

Deno.test("logger: JSON lines, levels, secrets and URLs redacted, listeners", () => {
  const lines: string[] = [];
  const log = Logger.create("info", (line) => lines.push(line), () => 0);
  const seen: string[] = [];
  log.subscribe((entry) => seen.push(entry.level));
  const child = log.child("runs", { job_id: "j1" });
  child.debug("hidden");
  child.warn("upload failed https://x/y?sig=1", {
    dek: new Secret(new Uint8Array(32)),
    n: 5n,
    error: new Error("e https://h/p?q=1"),
  });
  assertEquals(lines.length, 1);
  const entry = JSON.parse(lines[0]);
  assertEquals(entry, {
    ts: "1970-01-01T00:00:00.000Z",
    level: "warn",
    msg: "upload failed https://x/y?<redacted>",
    component: "runs",
    job_id: "j1",
    dek: "<redacted>",
    n: "5",
    error: "e https://h/p?<redacted>",
  });
  assertEquals(seen, ["warn"]);
  log.setLevel("debug");
  child.debug("shown");
  assertEquals(lines.length, 2);
  // A field cannot pass itself off as the line's level or message.
  child.error("real", { level: "info", msg: "forged" });
  const forged = JSON.parse(lines[2]);
  assertEquals([forged.level, forged.msg], ["error", "real"]);
  assertEquals([forged.field_level, forged.field_msg], ["info", "forged"]);
});

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
});

Deno.test("self-update policy names why it refuses", () => {
  assert(
    selfUpdateRefusal({ autoUpdateEnabled: true, standalone: false, inContainer: false })!.includes(
      "standalone",
    ),
  );
  assert(
    selfUpdateRefusal({ autoUpdateEnabled: false, standalone: true, inContainer: false })!.includes(
      "disabled",
    ),
  );
  assertEquals(
    selfUpdateRefusal({ autoUpdateEnabled: true, standalone: true, inContainer: false }),
    null,
  );
});
