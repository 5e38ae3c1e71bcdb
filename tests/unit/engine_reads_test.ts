/**
 * docker/engine_reads.ts against a small HTTP server of the test's own on a
 * UNIX socket: JSON bodies, the engine's error messages with their status,
 * a stream of JSON lines cut anywhere, an abort that ends it at once, and a
 * socket nobody listens on.
 */
import { join } from "node:path";
import { DockerApiError, getJson, getJsonLines, query } from "../../agent/docker/engine_reads.ts";
import { assert, assertEquals, assertRejects } from "../support/assert.ts";

/** A server on a fresh UNIX socket answering with `handler`; closed with the test. */
async function engine(handler: (request: Request) => Response | Promise<Response>) {
  const dir = await Deno.makeTempDir({ prefix: "backupy-engine-reads-" });
  const path = join(dir, "docker.sock");
  const server = Deno.serve({ path, onListen: () => {} }, handler);
  return {
    path,
    async [Symbol.asyncDispose]() {
      await server.shutdown();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

Deno.test("engine reads: a JSON body comes back parsed; the path and query go as given", async () => {
  let asked = "";
  await using docker = await engine((request) => {
    asked = new URL(request.url).pathname + new URL(request.url).search;
    return Response.json([{ Id: "abc" }]);
  });
  const path = `/containers/json${query({ all: true, filters: { label: ["a=b"] } })}`;
  assertEquals(await getJson(docker.path, path), [{ Id: "abc" }]);
  assertEquals(
    decodeURIComponent(asked.replaceAll("+", " ")),
    '/containers/json?all=true&filters={"label":["a=b"]}',
  );
});

Deno.test("engine reads: an error status throws the engine's message with the status", async () => {
  await using docker = await engine((request) =>
    request.url.endsWith("/missing/json")
      ? Response.json({ message: "No such container: missing" }, { status: 404 })
      : new Response("engine trouble", { status: 500 })
  );
  const missing = await assertRejects(
    () => getJson(docker.path, "/containers/missing/json"),
    DockerApiError,
    "No such container: missing",
  );
  assertEquals(missing.statusCode, 404);
  const broken = await assertRejects(() => getJson(docker.path, "/version"), DockerApiError);
  assertEquals([broken.statusCode, broken.message], [500, "engine trouble"]);
});

Deno.test("engine reads: JSON lines arrive whole however the stream is cut, until it ends", async () => {
  const lines =
    '{"Action":"start","id":"a"}\n\n{"Action":"die","id":"b"}\n{"status":"stop","id":"c"}\n';
  await using docker = await engine(() => {
    const bytes = new TextEncoder().encode(lines);
    const pieces = [];
    for (let at = 0; at < bytes.length; at += 7) pieces.push(bytes.subarray(at, at + 7));
    return new Response(ReadableStream.from(pieces));
  });
  const seen: unknown[] = [];
  let opened = false;
  await getJsonLines(
    docker.path,
    "/events",
    (value) => seen.push(value),
    new AbortController().signal,
    () => opened = true,
  );
  assert(opened);
  assertEquals(seen, [{ Action: "start", id: "a" }, { Action: "die", id: "b" }, {
    status: "stop",
    id: "c",
  }]);
});

Deno.test("engine reads: an abort ends an endless stream at once; an error status never opens it", async () => {
  await using docker = await engine((request) => {
    if (request.url.includes("refused")) return Response.json({ message: "no" }, { status: 400 });
    let timer: ReturnType<typeof setInterval>;
    return new Response(
      new ReadableStream({
        start(controller) {
          controller.enqueue(new TextEncoder().encode('{"Action":"start","id":"a"}\n'));
          timer = setInterval(() => controller.enqueue(new TextEncoder().encode("\n")), 50);
        },
        cancel: () => clearInterval(timer),
      }),
    );
  });
  const abort = new AbortController();
  const seen: unknown[] = [];
  await getJsonLines(docker.path, "/events", (value) => {
    seen.push(value);
    abort.abort();
  }, abort.signal);
  assertEquals(seen.length, 1);
  let opened = false;
  await assertRejects(
    () =>
      getJsonLines(
        docker.path,
        "/events/refused",
        () => {},
        new AbortController().signal,
        () => opened = true,
      ),
    DockerApiError,
    "no",
  );
  assertEquals(opened, false);
});

Deno.test("engine reads: a socket nobody listens on fails with the system's reason", async () => {
  const error = await assertRejects(() => getJson("/nonexistent/docker.sock", "/version"), Error);
  assert(/ENOENT|No such file/i.test(error.message), error.message);
});
