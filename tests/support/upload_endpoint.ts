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
  /** Resolves when the n-th request has arrived (its body fully read). */
  readonly #arrivals: ((n: number) => void)[] = [];

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
        for (const arrived of this.#arrivals) arrived(index);
        const answer = this.#answers[Math.min(index, this.#answers.length - 1)];
        if (answer.delayMs) await new Promise((r) => setTimeout(r, answer.delayMs));
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
    await this.#server.shutdown();
  }
}
