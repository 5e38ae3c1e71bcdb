/**
 * An HTTP endpoint that answers presigned PUTs the way a test scripts it:
 * 500 then 200, 403 by design (s3rver never checks signatures, so expired
 * or forged URLs need this), or holding the answer back. It records every
 * request's headers and body size.
 */

/** What one request looked like. */
export interface UploadRequest {
  method: string;
  contentLength: string | null;
  transferEncoding: string | null;
  contentType: string | null;
  bytes: number;
  body: Uint8Array;
}

/** How to answer request n (0-based). */
export type Answer = {
  status: number;
  body?: string;
  headers?: Record<string, string>;
  delayMs?: number;
};

/** The endpoint. */
export class UploadEndpoint implements AsyncDisposable {
  readonly requests: UploadRequest[] = [];
  readonly #answers: Answer[];
  readonly #server: Deno.HttpServer<Deno.NetAddr>;
  /** Releases answers held back with delayMs when the endpoint stops. */
  readonly #stopping = new AbortController();

  /** Answers in order; the last answer repeats. */
  constructor(answers: Answer[]) {
    this.#answers = answers;
    this.#server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen() {} },
      async (request) => {
        const body = new Uint8Array(await request.arrayBuffer());
        const index = this.requests.length;
        this.requests.push({
          method: request.method,
          contentLength: request.headers.get("content-length"),
          transferEncoding: request.headers.get("transfer-encoding"),
          contentType: request.headers.get("content-type"),
          bytes: body.length,
          body,
        });
        const answer = this.#answers[Math.min(index, this.#answers.length - 1)];
        if (answer.delayMs) {
          const signal = this.#stopping.signal;
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, answer.delayMs);
            signal.addEventListener("abort", () => {
              clearTimeout(timer);
              resolve();
            }, { once: true });
          });
          if (signal.aborted) return new Response("stopping", { status: 503 });
        }
        return new Response(answer.body ?? "", { status: answer.status, headers: answer.headers });
      },
    );
  }

  /** A URL in the shape of a presigned one (the signature must never be logged). */
  url(key: string): string {
    return `http://127.0.0.1:${this.#server.addr.port}/backups/${key}?X-Amz-Algorithm=AWS4-HMAC-SHA256` +
      `&X-Amz-Credential=AKIDEXAMPLE%2F20261126&X-Amz-Signature=${"5e".repeat(32)}`;
  }

  /** Waits until `count` requests arrived. */
  async waitForRequests(count: number, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.requests.length < count) {
      if (Date.now() > deadline) {
        throw new Error(`only ${this.requests.length} of ${count} uploads arrived`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Stops the endpoint. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.#stopping.abort();
    await this.#server.shutdown();
  }
}
