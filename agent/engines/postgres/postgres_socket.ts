/**
 * The socket a PostgreSQL connection runs on, opened for the driver
 * (postgres.js's `socket` option): TCP or a UNIX socket, TLS negotiated
 * here as libpq does it (an SSLRequest, then the server's one-byte answer;
 * docs/engines.md section 4, "Reading the rows"),
 * and a {@linkcode CopyTap} on the plain-text side. The driver is told
 * `ssl: false` and sees the decrypted messages from their first byte, which
 * is what lets the tap follow them, on TLS connections too.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import net from "node:net";
import { Duplex } from "node:stream";
import tls from "node:tls";
import { CopyTap } from "./dump/copy_tap.ts";

/** How TLS is negotiated: not at all, when offered, or always (with these options). */
export type PostgresTls = false | "prefer" | "require" | tls.ConnectionOptions;

/** Where to connect. */
export interface PostgresSocketTarget {
  /** A host name, or the directory of a UNIX socket. */
  host: string;
  port: number;
  tls: PostgresTls;
  timeoutMs: number;
}

/** An open connection's socket and the tap on its messages. */
export interface PostgresSocket {
  socket: net.Socket;
  tap: CopyTap;
}

/** int32 length 8, then the SSLRequest code 80877103. */
const SSL_REQUEST = new Uint8Array([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]);

/** The event the server's answer to the SSLRequest is passed on as. */
const SSL_ANSWER = "backupy:ssl-answer";

/**
 * Settles with `socket`'s first `event`, or fails with its error, its close
 * or the deadline's reason once `deadline` aborts.
 */
function first<T>(socket: net.Socket, event: string, deadline: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const done = () => {
      socket.off(event, onEvent);
      socket.off("error", onError);
      socket.off("close", onClose);
      deadline.removeEventListener("abort", onDeadline);
    };
    const onEvent = (value: T) => {
      done();
      resolve(value);
    };
    const onError = (error: Error) => {
      done();
      reject(error);
    };
    const onClose = () => {
      done();
      reject(new Error("the server closed the connection while it was being opened"));
    };
    const onDeadline = () => onError(deadline.reason);
    if (deadline.aborted) return onDeadline();
    socket.once(event, onEvent);
    socket.once("error", onError);
    socket.once("close", onClose);
    deadline.addEventListener("abort", onDeadline);
  });
}

/** postgres.js's default keepalive delay. */
const KEEPALIVE_MS = 60_000;

/** Bytes one read of the socket takes at most; the buffer is reused by every read. */
const READ_BUFFER_BYTES = 64 * 1024;

/**
 * The reads of `socket` (whose bytes `setReader` routes) as a Node duplex
 * stream that writes to `socket`: what TLS runs over, since a socket
 * reading into a reused buffer cannot carry Node's TLS itself.
 */
function socketAsStream(
  socket: net.Socket,
  setReader: (reader: (chunk: Uint8Array) => boolean) => void,
): Duplex {
  const stream = new Duplex({
    read: () => void socket.resume(),
    write: (chunk, _encoding, done) => void socket.write(chunk, done),
    final: (done) => {
      socket.end();
      done();
    },
    destroy: (error, done) => {
      socket.destroy();
      done(error);
    },
  });
  // Each read is copied out of the reused buffer; a full stream stops the reading.
  setReader((chunk) => stream.push(Buffer.from(chunk)));
  socket.on("end", () => stream.push(null));
  socket.on("error", (error) => stream.destroy(error));
  return stream;
}

/**
 * Opens a connection to `target` and negotiates TLS as `target.tls` asks.
 * Throws (destroying the socket) when the server refuses the TLS that is
 * required, or answers the request with anything but one byte.
 */
export async function openPostgresSocket(target: PostgresSocketTarget): Promise<PostgresSocket> {
  const unix = target.host.includes("/");
  const buffer = new Uint8Array(READ_BUFFER_BYTES);
  // Who gets each read; the bytes are valid only during the call.
  let reader: (chunk: Uint8Array) => boolean = () => false;
  const onread = { buffer, callback: (n: number) => reader(buffer.subarray(0, n)) };
  const raw: net.Socket = unix
    ? net.connect({ path: `${target.host.replace(/\/$/, "")}/.s.PGSQL.${target.port}`, onread })
    : net.connect({ host: target.host, port: target.port, onread });
  // As postgres.js does on its own sockets: a dead peer is noticed during a long COPY.
  raw.setKeepAlive(true, KEEPALIVE_MS);
  // As libpq does: without it, a message written behind an unacknowledged one
  // waits for the server's delayed ACK, about 16 ms per statement of a restore
  // (PostgreSQL 15's regression database: 42 s instead of 2).
  raw.setNoDelay(true);
  let socket = raw;
  // One deadline for the whole opening, however many steps it takes.
  const expiry = new AbortController();
  const deadline = expiry.signal;
  const timer = setTimeout(
    () =>
      expiry.abort(new Error(`the connection was not open within ${target.timeoutMs / 1000} s`)),
    target.timeoutMs,
  );
  try {
    await first(raw, "connect", deadline);
    // libpq does not use TLS on a UNIX socket.
    if (target.tls !== false && !unix) {
      // The answer is read on its own; the reading stops until the next step.
      reader = (chunk) => {
        raw.emit(SSL_ANSWER, chunk.slice());
        return false;
      };
      raw.write(SSL_REQUEST);
      const answer = await first<Uint8Array>(raw, SSL_ANSWER, deadline);
      if (answer.length !== 1 || (answer[0] !== 0x53 && answer[0] !== 0x4e)) {
        // More than the one byte would be read as if it came over TLS (CVE-2021-23222).
        throw new Error("the server answered the TLS request with something else than S or N");
      }
      if (answer[0] === 0x53) {
        const options = typeof target.tls === "object" ? target.tls : { rejectUnauthorized: false };
        const secure = tls.connect({
          ...options,
          socket: socketAsStream(raw, (r) => reader = r),
          servername: net.isIP(target.host) ? undefined : target.host,
        });
        socket = secure;
        raw.resume();
        await first(secure, "secureConnect", deadline);
        return { socket: secure, tap: CopyTap.onEvents(secure) };
      }
      if (target.tls !== "prefer") {
        throw new Error("the server does not accept TLS, and the sslmode requires it");
      }
    }
    const tap = CopyTap.onReads(raw);
    reader = (chunk) => tap.read(chunk);
    raw.resume();
    return { socket: raw, tap };
  } catch (error) {
    socket.destroy();
    raw.destroy();
    throw error;
  } finally {
    clearTimeout(timer);
  }
}
