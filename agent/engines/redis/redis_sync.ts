/**
 * Takes a Redis RDB snapshot the way `redis-cli --rdb` does (docs/engines.md
 * section 1): AUTH, `REPLCONF capa eof`, `REPLCONF rdb-only 1`, `SYNC`,
 * then either `$<len>` and exactly that many bytes (disk sync) or
 * `$EOF:<40 chars>` and bytes up to the same 40 chars (diskless). Never
 * `SAVE` or `BGSAVE`. Streamed: the snapshot is never held in memory.
 *
 * @module
 */
import type { Secret } from "../../../decrypt/secret.ts";
import { DumpError } from "../shared/engine.ts";

/** Where and how to connect. */
export interface RedisEndpoint {
  hostname: string;
  port: number;
  tls: boolean;
  /** PEM CA certificates to trust for TLS (else the system's). */
  caCerts?: string[];
  username?: string;
  password?: Secret<string>;
  /** A logical database the URL names (a scratch restore's); a snapshot is of them all. */
  database?: number;
}

const MARK_LENGTH = 40;
const READ_SIZE = 256 * 1024;

/** RESP array of bulk strings: a command as Redis reads it. */
function command(...args: string[]): Uint8Array {
  const encoder = new TextEncoder();
  let text = `*${args.length}\r\n`;
  for (const arg of args) text += `$${encoder.encode(arg).length}\r\n${arg}\r\n`;
  return encoder.encode(text);
}

/** Buffered reads from a connection: lines for the handshake, raw bytes after. */
class ConnReader {
  #conn: Deno.Conn;
  #buffered: Uint8Array = new Uint8Array(0);

  constructor(conn: Deno.Conn) {
    this.#conn = conn;
  }

  /** Reads more; false at the end of the connection. */
  async #fill(): Promise<boolean> {
    const buffer = new Uint8Array(READ_SIZE);
    const n = await this.#conn.read(buffer);
    if (n === null) return false;
    const joined = new Uint8Array(this.#buffered.length + n);
    joined.set(this.#buffered);
    joined.set(buffer.subarray(0, n), this.#buffered.length);
    this.#buffered = joined;
    return true;
  }

  /** One line without its CRLF; `skipNewlines` drops the server's keep-alive "\n"s first. */
  async line(skipNewlines = false): Promise<string> {
    for (;;) {
      if (skipNewlines) {
        let start = 0;
        while (start < this.#buffered.length && this.#buffered[start] === 0x0a) start++;
        this.#buffered = this.#buffered.subarray(start);
      }
      const end = this.#buffered.indexOf(0x0a);
      if (end >= 0) {
        const text = new TextDecoder().decode(this.#buffered.subarray(0, end)).replace(/\r$/, "");
        this.#buffered = this.#buffered.subarray(end + 1);
        return text;
      }
      if (this.#buffered.length > 64 * 1024) {
        throw new DumpError("Redis sent an over-long reply line");
      }
      if (!(await this.#fill())) {
        throw new DumpError("Redis closed the connection during the handshake");
      }
    }
  }

  /** The next bytes (buffered first), or null at the end. */
  async chunk(): Promise<Uint8Array | null> {
    if (this.#buffered.length > 0) {
      const out = this.#buffered;
      this.#buffered = new Uint8Array(0);
      return out;
    }
    const buffer = new Uint8Array(READ_SIZE);
    const n = await this.#conn.read(buffer);
    return n === null ? null : buffer.subarray(0, n);
  }

  /** Puts `bytes` back in front (they belong to what follows). */
  unread(bytes: Uint8Array): void {
    const joined = new Uint8Array(bytes.length + this.#buffered.length);
    joined.set(bytes);
    joined.set(this.#buffered, bytes.length);
    this.#buffered = joined;
  }
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  for (let at = 0; at < bytes.length;) at += await conn.write(bytes.subarray(at));
}

/** A TCP (or TLS, for rediss://) connection to the server; a DumpError naming it when refused. */
export async function connectRedis(endpoint: RedisEndpoint): Promise<Deno.Conn> {
  try {
    return endpoint.tls
      ? await Deno.connectTls({
        hostname: endpoint.hostname,
        port: endpoint.port,
        caCerts: endpoint.caCerts,
      })
      : await Deno.connect({ hostname: endpoint.hostname, port: endpoint.port });
  } catch (error) {
    throw new DumpError(
      `cannot connect to Redis at ${endpoint.hostname}:${endpoint.port}: ${
        (error as Error).message
      }`,
    );
  }
}

/**
 * Opens a replication connection and returns the snapshot as a stream.
 */
export async function syncSnapshot(
  endpoint: RedisEndpoint,
  signal: AbortSignal,
): Promise<ReadableStream<Uint8Array>> {
  const where = `${endpoint.hostname}:${endpoint.port}`;
  const conn = await connectRedis(endpoint);
  const close = () => {
    try {
      conn.close();
    } catch {
      // Already closed.
    }
  };
  signal.addEventListener("abort", close, { once: true });
  const reader = new ConnReader(conn);
  try {
    // Read every reply before the next command: SYNC with replies pending is refused.
    if (endpoint.password) {
      const auth = endpoint.username
        ? command("AUTH", endpoint.username, endpoint.password.reveal())
        : command("AUTH", endpoint.password.reveal());
      await writeAll(conn, auth);
      const reply = await reader.line();
      if (!reply.startsWith("+")) {
        throw new DumpError(`Redis at ${where} refused the credentials: ${reply.slice(1)}`);
      }
    }
    await writeAll(conn, command("REPLCONF", "capa", "eof"));
    const capa = await reader.line();
    if (!capa.startsWith("+")) {
      throw new DumpError(`Redis at ${where} refused REPLCONF capa eof: ${capa.slice(1)}`);
    }
    // Servers before 6.2 answer an error: not fatal, the stream just continues after the RDB.
    await writeAll(conn, command("REPLCONF", "rdb-only", "1"));
    await reader.line();
    await writeAll(conn, command("SYNC"));
    const preamble = await reader.line(true);
    if (preamble.startsWith("-")) {
      throw new DumpError(`Redis at ${where} refused SYNC: ${preamble.slice(1)}`);
    }
    const eof = /^\$EOF:(.{40})$/.exec(preamble);
    const length = /^\$(\d+)$/.exec(preamble);
    if (!eof && !length) {
      throw new DumpError(
        `Redis at ${where} answered SYNC with an unexpected ${
          JSON.stringify(preamble.slice(0, 60))
        }`,
      );
    }
    return eof
      ? markDelimited(reader, new TextEncoder().encode(eof[1]), close)
      : lengthDelimited(reader, Number(length![1]), close);
  } catch (error) {
    close();
    throw error;
  }
}

/** `$<len>`: exactly len bytes follow. */
function lengthDelimited(
  reader: ConnReader,
  length: number,
  close: () => void,
): ReadableStream<Uint8Array> {
  let remaining = length;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (remaining === 0) {
        close();
        return controller.close();
      }
      const chunk = await reader.chunk();
      if (chunk === null) {
        close();
        return controller.error(
          new DumpError(`Redis closed the connection ${remaining} bytes before the end of the RDB`),
        );
      }
      const take = chunk.subarray(0, Math.min(chunk.length, remaining));
      remaining -= take.length;
      controller.enqueue(take);
    },
    cancel: close,
  });
}

/**
 * `$EOF:<mark>`: the RDB ends where the same 40 bytes appear again. The last
 * 40 bytes are held back until it is clear they are not the mark.
 */
function markDelimited(
  reader: ConnReader,
  mark: Uint8Array,
  close: () => void,
): ReadableStream<Uint8Array> {
  let held = new Uint8Array(0);
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const chunk = await reader.chunk();
      if (chunk === null) {
        close();
        return controller.error(
          new DumpError("Redis closed the connection before the end of the RDB (no EOF mark)"),
        );
      }
      const joined = new Uint8Array(held.length + chunk.length);
      joined.set(held);
      joined.set(chunk, held.length);
      const markAt = findMark(joined, mark);
      if (markAt >= 0) {
        // Anything after the mark is the replication stream: not ours.
        if (markAt > 0) controller.enqueue(joined.subarray(0, markAt));
        close();
        return controller.close();
      }
      const keep = Math.min(MARK_LENGTH - 1, joined.length);
      const release = joined.length - keep;
      if (release > 0) controller.enqueue(joined.subarray(0, release));
      held = joined.slice(release);
    },
    cancel: close,
  });
}

/** Where `mark` starts in `bytes`, or -1. */
function findMark(bytes: Uint8Array, mark: Uint8Array): number {
  for (
    let start = bytes.indexOf(mark[0]);
    start >= 0 && start <= bytes.length - MARK_LENGTH;
    start = bytes.indexOf(mark[0], start + 1)
  ) {
    let i = 1;
    while (i < MARK_LENGTH && bytes[start + i] === mark[i]) i++;
    if (i === MARK_LENGTH) return start;
  }
  return -1;
}
