/** log/logger.ts: JSON lines, levels, redaction and listeners. */
import { assertEquals } from "../support/assert.ts";
import { Logger } from "../../agent/log/logger.ts";
import { Secret } from "../../decrypt/secret.ts";

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
