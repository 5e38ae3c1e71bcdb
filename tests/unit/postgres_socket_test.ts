/**
 * engines/postgres/postgres_socket.ts against small servers of the test's
 * own: the SSLRequest and the one-byte answer, a server that refuses TLS
 * when it is required, an answer with more than one byte, a server that
 * never answers or hangs up, a plain connection whose reads reach the
 * driver through the tap, and Nagle's algorithm turned off.
 */
import { Buffer } from "node:buffer";
import {
  openPostgresSocket,
  type PostgresTls,
} from "../../agent/engines/postgres/postgres_socket.ts";
import { assert, assertEquals, assertRejects, assertStringIncludes } from "../support/assert.ts";

const SSL_REQUEST = [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f];

/**
 * A one-connection server on a free port: `serve` gets the connection and
 * what it read first. Closed with the test.
 */
function server(serve: (conn: Deno.Conn, first: Uint8Array) => Promise<void>) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const done = (async () => {
    const conn = await listener.accept();
    try {
      const buffer = new Uint8Array(64);
      const n = await conn.read(buffer);
      await serve(conn, buffer.subarray(0, n ?? 0));
    } finally {
      try {
        conn.close();
      } catch { /* closed by the test */ }
    }
  })();
  return {
    port: (listener.addr as Deno.NetAddr).port,
    async [Symbol.asyncDispose]() {
      listener.close();
      await done.catch(() => {});
    },
  };
}

const open = (port: number, tls: PostgresTls, timeoutMs = 5000) =>
  openPostgresSocket({ host: "127.0.0.1", port, tls, timeoutMs });

Deno.test("postgres socket: prefer asks for TLS, takes N for plain, and the reads after it reach the driver as Buffers", async () => {
  let asked: number[] = [];
  const release = Promise.withResolvers<void>();
  await using s = server(async (conn, first) => {
    asked = [...first];
    await conn.write(new Uint8Array([0x4e]));
    const startup = new Uint8Array(16);
    await conn.read(startup);
    await conn.write(new TextEncoder().encode("R-after-N"));
    await release.promise;
  });
  const { socket } = await open(s.port, "prefer");
  const got = Promise.withResolvers<Uint8Array>();
  socket.on("data", (chunk: Uint8Array) => got.resolve(chunk));
  socket.write(new Uint8Array([1, 2, 3]));
  const chunk = await got.promise;
  assertEquals(asked, SSL_REQUEST);
  assert(Buffer.isBuffer(chunk));
  assertEquals(new TextDecoder().decode(chunk), "R-after-N");
  release.resolve();
  socket.destroy();
});

Deno.test("postgres socket: TCP connections write without Nagle's delay (TCP_NODELAY)", async () => {
  await using s = server(() => Promise.resolve());
  const { socket } = await open(s.port, false);
  try {
    // node:net keeps what setNoDelay() last set under this symbol.
    const noDelay = Object.getOwnPropertySymbols(socket).find((k) =>
      k.description === "kSetNoDelay"
    );
    assert(noDelay, "node:net no longer records TCP_NODELAY on the socket: check it another way");
    assertEquals((socket as unknown as Record<symbol, unknown>)[noDelay], true);
  } finally {
    socket.destroy();
  }
});

Deno.test("postgres socket: without TLS no SSLRequest is sent", async () => {
  let first: number[] = [];
  await using s = server((_conn, read) => {
    first = [...read];
    return Promise.resolve();
  });
  const { socket } = await open(s.port, false);
  socket.write(new Uint8Array([9, 9]));
  await new Promise<void>((resolve) => socket.on("close", () => resolve()));
  assertEquals(first, [9, 9]);
});

Deno.test("postgres socket: require against a server that answers N fails, naming why", async () => {
  await using s = server(async (conn) => {
    await conn.write(new Uint8Array([0x4e]));
    await new Promise((resolve) => setTimeout(resolve, 200));
  });
  await assertRejects(() => open(s.port, "require"), Error, "does not accept TLS");
});

Deno.test("postgres socket: an answer of more than one byte is refused (nothing may come before TLS)", async () => {
  await using s = server(async (conn) => {
    await conn.write(new Uint8Array([0x53, 0x16, 0x03]));
    await new Promise((resolve) => setTimeout(resolve, 200));
  });
  await assertRejects(() => open(s.port, "require"), Error, "something else than S or N");
});

Deno.test("postgres socket: a server that never answers fails at the deadline", async () => {
  const release = Promise.withResolvers<void>();
  await using s = server(() => release.promise);
  const error = await assertRejects(() => open(s.port, "prefer", 300), Error);
  assertStringIncludes(error.message, "not open within 0.3 s");
  release.resolve();
});

Deno.test("postgres socket: a server that hangs up while it is opened fails with that", async () => {
  await using s = server(() => Promise.resolve());
  await assertRejects(() => open(s.port, "prefer"), Error, "closed the connection");
});

Deno.test("postgres socket: nothing listening fails with the system's reason", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const error = await assertRejects(() => open(port, false), Error);
  assertStringIncludes(error.message.toLowerCase(), "refused");
});
