/** log/redact.ts: URL queries and credentials never reach a log line. */
import { assertEquals } from "../support/assert.ts";
import { redactText } from "../../agent/log/redact.ts";

Deno.test("redaction removes URL queries and credentials", () => {
  assertEquals(
    redactText(
      "PUT https://s3.example/b/k.enc?X-Amz-Signature=abcdef&X-Amz-Credential=AKIA failed",
    ),
    "PUT https://s3.example/b/k.enc?<redacted> failed",
  );
  assertEquals(redactText("mysql://root:hunter2@db:3306/app"), "mysql://<redacted>@db:3306/app");
});
