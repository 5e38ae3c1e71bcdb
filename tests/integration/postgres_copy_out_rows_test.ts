/**
 * agent/engines/postgres/dump/copy_out_rows.ts against the real server,
 * through the socket and tap the engine connects with: rows arrive whole
 * and in order however small the pieces and however long the rows (longer
 * than a read), the connection serves the next query after the COPY, a
 * server error in the middle of the rows or before the first is thrown
 * (never a hang), and a caller that stops early gets no more rows.
 */
import postgres from "postgres";
import type { CopyTap } from "../../agent/engines/postgres/dump/copy_tap.ts";
import { openPostgresSocket } from "../../agent/engines/postgres/postgres_socket.ts";
import { copyOutRows, type CopyRows } from "../../agent/engines/postgres/dump/copy_out_rows.ts";
import { assert, assertEquals, assertRejects } from "../support/assert.ts";

const url = Deno.env.get("BACKUPY_TEST_PG_URL") ??
  "postgres://backupy:backupy-test-pw@127.0.0.1:5432/postgres";

const text = new TextDecoder();

/**
 * Runs `body` on a reserved connection of a one-connection pool whose
 * socket is the engine's (with its tap), ended afterwards: gracefully, or
 * at once (`endAtOnce`) when the body leaves a COPY cut off mid-way.
 */
async function withTapped(
  body: (reserved: postgres.ReservedSql, tap: CopyTap) => Promise<void>,
  endAtOnce = false,
): Promise<void> {
  const at = new URL(url);
  let tap: CopyTap | undefined;
  const options = {
    max: 1,
    onnotice: () => {},
    ssl: false,
    socket: async () => {
      const opened = await openPostgresSocket({
        host: at.hostname,
        port: Number(at.port || 5432),
        tls: "prefer",
        timeoutMs: 10_000,
      });
      tap = opened.tap;
      return opened.socket;
    },
  };
  const sql = postgres(url, options as postgres.Options<Record<string, never>>);
  try {
    const reserved = await sql.reserve();
    await body(reserved, tap!);
    if (!endAtOnce) reserved.release();
  } finally {
    await sql.end({ timeout: endAtOnce ? 0 : 5 });
  }
}

/** Each row of a COPY as text, `full` deciding after each batch whether a piece is full. */
function rowsInto(rows: string[], full: () => boolean) {
  return (source: Uint8Array, spans: Uint32Array, count: number) => {
    for (let i = 0; i < count; i++) {
      rows.push(text.decode(source.subarray(spans[2 * i], spans[2 * i + 1])));
    }
    return full();
  };
}

/** Runs a COPY through `tap` to its end (or its error); resolves with the pieces it yielded. */
async function copyAll(
  reserved: postgres.ReservedSql,
  tap: CopyTap,
  statement: string,
  rows: CopyRows,
): Promise<number> {
  let pieces = 0;
  for await (const _ of copyOutRows(reserved, tap, statement, rows)) pieces++;
  return pieces;
}

Deno.test("COPY rows: whole and in order with a piece full every 7 rows, rows longer than a read too; the connection is usable after", async () => {
  await withTapped(async (reserved, tap) => {
    const rows: string[] = [];
    const statement =
      "COPY (SELECT x, repeat('r', CASE WHEN x % 1000 = 0 THEN 150000 ELSE x % 50 END)" +
      " FROM generate_series(1, 20000) x) TO STDOUT";
    const pieces = await copyAll(
      reserved,
      tap,
      statement,
      rowsInto(rows, () => rows.length % 7 === 0),
    );
    assertEquals(rows.length, 20000);
    // Rows of the read under way still come after a full piece, so pieces merge; but
    // each full piece stops the reading until the caller asks again.
    assert(pieces > 1, `pieces: ${pieces}`);
    rows.forEach((row, i) => {
      const x = i + 1;
      const expected = `${x}\t${"r".repeat(x % 1000 === 0 ? 150000 : x % 50)}\n`;
      if (row !== expected) throw new Error(`row ${x} differs: ${row.slice(0, 40)}`);
    });
    // A paused socket left behind would hang this query.
    assertEquals((await reserved`SELECT 41 + 1 AS n`)[0].n, 42);
    // And the next COPY on the same connection is tapped as well.
    const again: string[] = [];
    await copyAll(reserved, tap, "COPY (SELECT 7) TO STDOUT", rowsInto(again, () => false));
    assertEquals(again, ["7\n"]);
  });
});

Deno.test("COPY rows: an error after some rows is thrown, not waited on forever", async () => {
  await withTapped(async (reserved, tap) => {
    const rows: string[] = [];
    await assertRejects(
      () =>
        copyAll(
          reserved,
          tap,
          "COPY (SELECT 1 / (x - 30000) FROM generate_series(1, 40000) x) TO STDOUT",
          rowsInto(rows, () => rows.length % 100 === 0),
        ),
      Error,
      "division by zero",
    );
    assert(rows.length > 0 && rows.length < 30000, `rows before the error: ${rows.length}`);
    assertEquals((await reserved`SELECT 1 AS n`)[0].n, 1);
  });
});

Deno.test("COPY rows: a COPY that fails before its first row is thrown; the connection is usable after", async () => {
  await withTapped(async (reserved, tap) => {
    const rows: string[] = [];
    await assertRejects(
      () => copyAll(reserved, tap, "COPY no_such_table TO STDOUT", rowsInto(rows, () => false)),
      Error,
      "no_such_table",
    );
    assertEquals(rows, []);
    assertEquals((await reserved`SELECT 2 AS n`)[0].n, 2);
  });
});

Deno.test("COPY rows: a caller that stops after its first piece gets no further rows", async () => {
  // The COPY is cut off mid-way: the connection goes with it.
  await withTapped(async (reserved, tap) => {
    const rows: string[] = [];
    for await (
      const _ of copyOutRows(
        reserved,
        tap,
        "COPY (SELECT x FROM generate_series(1, 200000) x) TO STDOUT",
        rowsInto(rows, () => rows.length >= 10),
      )
    ) break;
    const atBreak = rows.length;
    // Rows of the read under way may still have come; after that, nothing.
    await new Promise((resolve) => setTimeout(resolve, 300));
    assertEquals(rows.length, atBreak);
    assert(rows.length < 200000, `rows after stopping: ${rows.length}`);
  }, true);
});
