/**
 * Uploads a staged backup with one PUT to its presigned URL (docs/agent.md
 * section 3, step 10): `Content-Type: application/octet-stream` and an
 * explicit `Content-Length` - strict S3 endpoints and MinIO refuse chunked
 * bodies to presigned URLs. Deno's `fetch` sends a stream body chunked
 * whatever the headers say, so this uses `node:http(s)`, which honours the
 * length. Transient failures (connection errors, 5xx, 408, 429 with
 * Retry-After) are retried from the staged file; other 4xx are final.
 *
 * @module
 */
import http from "node:http";
import https from "node:https";
import { garbageReleaser } from "../../decrypt/garbage_release_stream.ts";
import type { Secret } from "../../decrypt/secret.ts";
import { describeUrl } from "../log/redact.ts";

/** An upload failed; `retryable` says whether another try may succeed. */
export class UploadError extends Error {
  readonly status?: number;
  readonly retryable: boolean;
  readonly retryAfterMs?: number;
  constructor(
    message: string,
    options: { status?: number; retryable: boolean; retryAfterMs?: number },
  ) {
    super(message);
    this.status = options.status;
    this.retryable = options.retryable;
    this.retryAfterMs = options.retryAfterMs;
  }
}

/** Upload settings; the defaults are the spec's. */
export interface UploadOptions {
  signal: AbortSignal;
  /** Retries after the first try (3). */
  retries?: number;
  /** Delay before retry n (1-based), unless the server sent Retry-After. */
  retryDelayMs?: (retry: number) => number;
  /** Told the bytes sent so far (progress, stall watchdog). */
  onSent?: (bytes: number) => void;
  /** Told about each retry (metrics, log). */
  onRetry?: (retry: number, error: UploadError) => void;
}

function parseRetryAfter(value: string | string[] | undefined): number | undefined {
  if (typeof value !== "string") return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isFinite(date) ? Math.max(0, date - Date.now()) : undefined;
}

/** One PUT of the file at `path` (`size` bytes). */
function putOnce(
  url: URL,
  path: string,
  size: number,
  options: UploadOptions,
): Promise<number> {
  const where = describeUrl(url.toString());
  return new Promise((resolve, reject) => {
    const client = url.protocol === "https:" ? https : http;
    let file: Deno.FsFile | undefined;
    const fail = (error: UploadError) => {
      try {
        file?.close();
      } catch {
        // Already closed.
      }
      reject(error);
    };
    const request = client.request(url, {
      method: "PUT",
      headers: { "Content-Type": "application/octet-stream", "Content-Length": String(size) },
      signal: options.signal,
    }, (response) => {
      const status = response.statusCode ?? 0;
      let body = "";
      response.setEncoding("utf8");
      response.on("data", (chunk: string) => {
        if (body.length < 2048) body += chunk;
      });
      response.on("end", () => {
        if (status >= 200 && status < 300) return resolve(status);
        const code = /<Code>([^<]+)<\/Code>/.exec(body)?.[1];
        const retryable = status >= 500 || status === 408 || status === 429;
        fail(
          new UploadError(`upload to ${where} answered HTTP ${status}${code ? ` (${code})` : ""}`, {
            status,
            retryable,
            retryAfterMs: parseRetryAfter(response.headers["retry-after"]),
          }),
        );
      });
      response.on(
        "error",
        (error: Error) =>
          fail(
            new UploadError(`upload to ${where} failed reading the answer: ${error.message}`, {
              retryable: true,
            }),
          ),
      );
    });
    request.on("error", (error: Error) => {
      if (options.signal.aborted) {
        return fail(new UploadError("upload aborted", { retryable: false }));
      }
      fail(new UploadError(`upload to ${where} failed: ${error.message}`, { retryable: true }));
    });
    (async () => {
      file = await Deno.open(path, { read: true });
      const released = garbageReleaser();
      let sent = 0;
      for (;;) {
        // A fresh buffer per write: node:http may still hold the previous one.
        const buffer = new Uint8Array(1024 * 1024);
        const n = await file.read(buffer);
        if (n === null) break;
        const ok = request.write(buffer.subarray(0, n));
        sent += n;
        released(n);
        options.onSent?.(sent);
        if (!ok) await new Promise((resume) => request.once("drain", resume));
        if (request.destroyed) return;
      }
      file.close();
      file = undefined;
      request.end();
    })().catch((error) => {
      request.destroy();
      fail(
        new UploadError(`upload of the staged file failed: ${(error as Error).message}`, {
          retryable: false,
        }),
      );
    });
  });
}

/**
 * PUTs the staged file to `presignedUrl`, retrying transient failures up
 * to `retries` times. Messages name the host and path, never the query
 * string that carries the signature.
 */
export async function uploadStaged(
  path: string,
  size: number,
  presignedUrl: Secret<string>,
  options: UploadOptions,
): Promise<number> {
  const url = new URL(presignedUrl.reveal());
  const retries = options.retries ?? 3;
  const delay = options.retryDelayMs ?? ((n: number) => 1000 * 2 ** (n - 1));
  for (let attempt = 0;; attempt++) {
    try {
      return await putOnce(url, path, size, options);
    } catch (error) {
      const failure = error instanceof UploadError
        ? error
        : new UploadError((error as Error).message, { retryable: false });
      if (!failure.retryable || attempt >= retries || options.signal.aborted) throw failure;
      options.onRetry?.(attempt + 1, failure);
      const wait = Math.min(failure.retryAfterMs ?? delay(attempt + 1), 300_000);
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(resolve, wait);
        options.signal.addEventListener("abort", () => {
          clearTimeout(timer);
          reject(new UploadError("upload aborted", { retryable: false }));
        }, { once: true });
      });
    }
  }
}
