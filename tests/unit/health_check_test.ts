/** Health checks: HTTP status rules, redirects not followed, TCP, timeouts. */
import { assertEquals, assertStringIncludes } from "../support/assert.ts";
import { create } from "@bufbuild/protobuf";
import { CheckType } from "@backupy/gen/backup/v1/common_pb.ts";
import { HealthCheckSpecSchema } from "@backupy/gen/backup/v1/server_to_agent_pb.ts";
import { runCheck } from "../../agent/health/health_checker.ts";

const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (request) => {
  const path = new URL(request.url).pathname;
  if (path === "/ok") return new Response("ok");
  if (path === "/teapot") return new Response("", { status: 418 });
  if (path === "/redirect") return Response.redirect("http://127.0.0.1:1/elsewhere", 302);
  return new Promise((resolve) => setTimeout(() => resolve(new Response("late")), 3000));
});
const base = `http://127.0.0.1:${server.addr.port}`;
const spec = (type: CheckType, target: string, extra: Record<string, number> = {}) =>
  create(HealthCheckSpecSchema, { id: "c", type, target, timeoutSec: 1, ...extra });

Deno.test("HTTP: 200 by default, expected_status when set", async () => {
  assertEquals((await runCheck(spec(CheckType.HTTP, `${base}/ok`))).ok, true);
  const teapot = await runCheck(spec(CheckType.HTTP, `${base}/teapot`));
  assertEquals([teapot.ok, teapot.statusCode], [false, 418]);
  assertStringIncludes(teapot.error, "expected 200");
  assertEquals(
    (await runCheck(spec(CheckType.HTTP, `${base}/teapot`, { expectedStatus: 418 }))).ok,
    true,
  );
});

Deno.test("HTTP: redirects are not followed", async () => {
  const result = await runCheck(spec(CheckType.HTTP, `${base}/redirect`, { expectedStatus: 302 }));
  assertEquals([result.ok, result.statusCode], [true, 302]);
});

Deno.test("HTTP: a slow answer times out", async () => {
  const result = await runCheck(spec(CheckType.HTTP, `${base}/slow`));
  assertEquals(result.ok, false);
  assertStringIncludes(result.error, "no answer within 1 s");
});

Deno.test("TCP: connect then close; refused is a failure", async () => {
  assertEquals(
    (await runCheck(spec(CheckType.TCP_CHECK, `127.0.0.1:${server.addr.port}`))).ok,
    true,
  );
  const refused = await runCheck(spec(CheckType.TCP_CHECK, "127.0.0.1:1"));
  assertEquals(refused.ok, false);
  assertEquals(refused.error.length > 0, true);
});

Deno.test("shutdown", async () => {
  await server.shutdown();
});
