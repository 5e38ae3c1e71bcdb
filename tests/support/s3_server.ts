/**
 * A real S3-compatible server for the tests: `s3rver` from npm in a child
 * process, with URLs presigned by `@aws-sdk/s3-request-presigner` exactly
 * as a control plane would. s3rver does not verify SigV4 signatures, so it
 * proves upload mechanics, not authentication (docs/agent.md, facts measured).
 */
import { GetObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { freePort, waitForPort } from "./free_port.ts";

/** A running s3rver with one bucket. */
export class S3Server implements AsyncDisposable {
  readonly bucket = "backups";
  readonly endpoint: string;
  readonly #child: Deno.ChildProcess;
  readonly #dir: string;
  readonly #client: S3Client;

  private constructor(child: Deno.ChildProcess, dir: string, port: number) {
    this.#child = child;
    this.#dir = dir;
    this.endpoint = `http://127.0.0.1:${port}`;
    this.#client = new S3Client({
      endpoint: this.endpoint,
      region: "us-east-1",
      forcePathStyle: true,
      credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" },
    });
  }

  /** Starts s3rver on a free port; fails loudly if it does not come up. */
  static async start(): Promise<S3Server> {
    const dir = await Deno.makeTempDir({ prefix: "backupy-s3rver-" });
    const port = freePort();
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-all",
        "npm:s3rver@3.7.1",
        "--directory",
        dir,
        "--port",
        String(port),
        "--address",
        "127.0.0.1",
        "--configure-bucket",
        "backups",
        "--silent",
      ],
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const server = new S3Server(child, dir, port);
    try {
      await waitForPort(port, 60_000, "s3rver");
    } catch (error) {
      child.kill("SIGKILL");
      const stderr = new TextDecoder().decode((await child.output()).stderr);
      throw new Error(`${(error as Error).message}: ${stderr}`);
    }
    return server;
  }

  /** A presigned PUT URL for `key`, valid `seconds`. */
  presignPut(key: string, seconds = 900): Promise<string> {
    return getSignedUrl(this.#client, new PutObjectCommand({ Bucket: this.bucket, Key: key }), {
      expiresIn: seconds,
    });
  }

  /** A presigned GET URL for `key`. */
  presignGet(key: string, seconds = 900): Promise<string> {
    return getSignedUrl(this.#client, new GetObjectCommand({ Bucket: this.bucket, Key: key }), {
      expiresIn: seconds,
    });
  }

  /** The stored object, or null. */
  async get(key: string): Promise<Uint8Array | null> {
    const response = await fetch(await this.presignGet(key));
    if (response.status === 404) {
      await response.body?.cancel();
      return null;
    }
    if (!response.ok) throw new Error(`GET ${key}: HTTP ${response.status}`);
    return await response.bytes();
  }

  /** Stops the server and removes its files. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.#client.destroy();
    try {
      this.#child.kill("SIGTERM");
    } catch {
      // Already gone.
    }
    await this.#child.output().catch(() => {});
    await Deno.remove(this.#dir, { recursive: true }).catch(() => {});
  }
}
