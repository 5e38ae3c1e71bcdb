/**
 * A scripted Redis for protocol and failure tests: answers INFO, AUTH and REPLCONF like a
 * real server, and answers SYNC with whatever pieces a test gives it (a
 * truncated RDB, a refusal, an EOF mark split across writes), then closes.
 */

/** A running fake server; dispose to stop it. */
export interface FakeRedis extends AsyncDisposable {
  port: number;
  /** Commands received, AUTH arguments masked. */
  commands: string[];
}

/** Serves connections until disposed. */
export function fakeRedis(
  syncReply: (string | Uint8Array)[],
  options: { password?: string; rdbOnlyUnknown?: boolean } = {},
): FakeRedis {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const commands: string[] = [];
  const encoder = new TextEncoder();
  const serve = async (conn: Deno.Conn) => {
    const buffer = new Uint8Array(4096);
    let pending = "";
    const readCommand = async (): Promise<string[] | null> => {
      for (;;) {
        const header = /^\*(\d+)\r\n/.exec(pending);
        if (header) {
          const count = Number(header[1]);
          const lines = pending.split("\r\n");
          if (lines.length >= 2 * count + 2) {
            const args = Array.from({ length: count }, (_, i) => lines[2 + 2 * i]);
            pending = lines.slice(2 + 2 * count).join("\r\n");
            return args;
          }
        }
        const n = await conn.read(buffer);
        if (n === null) return null;
        pending += new TextDecoder().decode(buffer.subarray(0, n));
      }
    };
    try {
      for (;;) {
        const args = await readCommand();
        if (!args) return;
        const name = args[0].toUpperCase();
        commands.push(name === "AUTH" ? "AUTH ***" : args.join(" "));
        if (name === "AUTH") {
          await conn.write(
            encoder.encode(
              args.at(-1) === options.password
                ? "+OK\r\n"
                : "-WRONGPASS invalid username-password pair\r\n",
            ),
          );
        } else if (name === "INFO") {
          const body =
            "# Server\r\nredis_version:7.2.4\r\n# Memory\r\nused_memory_dataset:123456\r\n";
          await conn.write(encoder.encode(`$${body.length}\r\n${body}\r\n`));
        } else if (name === "REPLCONF") {
          // Servers before 6.2 do not know rdb-only.
          const unknown = options.rdbOnlyUnknown && args[1] === "rdb-only";
          await conn.write(encoder.encode(unknown ? "-ERR unknown option\r\n" : "+OK\r\n"));
        } else if (name === "SYNC") {
          for (const piece of syncReply) {
            await conn.write(typeof piece === "string" ? encoder.encode(piece) : piece);
            await new Promise((r) => setTimeout(r, 5));
          }
          return;
        } else {
          await conn.write(encoder.encode("+OK\r\n"));
        }
      }
    } catch {
      // The client went away.
    } finally {
      try {
        conn.close();
      } catch {
        // Already closed.
      }
    }
  };
  const accepting = (async () => {
    for await (const conn of listener) void serve(conn);
  })().catch(() => {});
  return {
    port: (listener.addr as Deno.NetAddr).port,
    commands,
    async [Symbol.asyncDispose]() {
      listener.close();
      await accepting;
    },
  };
}
