/** The staged upload: one PUT with Content-Length; what is retried and what is final. */
import { assertEquals, assertRejects, assertStringIncludes } from "../support/assert.ts";
import { type Answer, UploadEndpoint } from "../support/upload_endpoint.ts";
import { UploadError, uploadStaged } from "../../agent/pipeline/presigned_upload.ts";
import { Secret } from "../../decrypt/secret.ts";

async function upload(answers: Answer[], retries = 3) {
  const endpoint = new UploadEndpoint(answers);
  const file = await Deno.makeTempFile();
  await Deno.writeFile(file, new Uint8Array(300_000).fill(7));
  const retried: number[] = [];
  try {
    const status = await uploadStaged(file, 300_000, new Secret(endpoint.url("k")), {
      signal: new AbortController().signal,
      retries,
      retryDelayMs: () => 10,
      onRetry: (n) => retried.push(n),
    });
    return { status, requests: endpoint.requests, retried };
  } finally {
    await endpoint[Symbol.asyncDispose]();
    await Deno.remove(file);
  }
}

Deno.test("a 2xx on the first try: one request with the whole file and its length", async () => {
  const { status, requests } = await upload([{ status: 200 }]);
  assertEquals(status, 200);
  assertEquals(requests.length, 1);
  assertEquals(requests[0].contentLength, "300000");
  assertEquals(requests[0].bytes, 300_000);
});

Deno.test("5xx, 408 and 429 (with Retry-After) are retried", async () => {
  const { requests, retried } = await upload([
    { status: 503 },
    { status: 408 },
    { status: 429, headers: { "retry-after": "0" } },
    { status: 201 },
  ]);
  assertEquals(requests.length, 4);
  assertEquals(retried, [1, 2, 3]);
});

Deno.test("retries stop after 3; other 4xx are final at once", async () => {
  await assertRejects(() => upload([{ status: 500 }]), UploadError, "answered HTTP 500");
  const error = await assertRejects(() => upload([{ status: 404 }]), UploadError, "HTTP 404");
  assertEquals(error.retryable, false);
});

Deno.test("messages never carry the query string", async () => {
  const error = await assertRejects(() => upload([{ status: 403 }], 0), UploadError);
  assertStringIncludes(error.message, "/backups/k");
  assertEquals(error.message.includes("X-Amz"), false);
});

Deno.test("a refused connection is retried and then reported without the URL's query", async () => {
  const file = await Deno.makeTempFile();
  await Deno.writeFile(file, new Uint8Array(10));
  const retried: number[] = [];
  const error = await assertRejects(
    () =>
      uploadStaged(
        file,
        10,
        new Secret("http://127.0.0.1:1/b/k?X-Amz-Signature=deadbeefdeadbeef"),
        {
          signal: new AbortController().signal,
          retryDelayMs: () => 5,
          onRetry: (n) => retried.push(n),
        },
      ),
    UploadError,
  );
  assertEquals(retried, [1, 2, 3]);
  assertEquals(error.message.includes("deadbeef"), false);
  await Deno.remove(file);
});
