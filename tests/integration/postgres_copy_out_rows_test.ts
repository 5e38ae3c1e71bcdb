/**
 * agent/engines/postgres/dump/copy_out_rows.ts against the real server:
 * rows arrive whole and in order however small the pieces, the connection
 * serves the next query after the COPY, a server error in the middle of
 * the rows is thrown (never a hang), and a caller that stops early gets no
 * more rows.
 */
import postgres from "postgres";
import { copyOutRows } from "../../agent/engines/postgres/dump/copy_out_rows.ts";
import { assert, assertEquals, assertRejects } from "../support/assert.ts";

const url = Deno.env.get("BACKUPY_TEST_PG_URL") ??
  "postgres://backupy:backupy-test-pw@127.0.0.1:5432/postgres";

/**
 * Runs `body` on a reserved connection of a one-connection pool, ended
 * afterwards: gracefully, or at once (`endAtOnce`) when the body leaves a
 * COPY cut off mid-way.
 */
async function withReserved(
  body: (reserved: postgres.ReservedSql) => Promise<void>,
  endAtOnce = false,
): Promise<void> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const reserved = await sql.reserve();
    await body(reserved);
    if (!endAtOnce) reserved.release();
  } finally {
    await sql.end({ timeout: endAtOnce ? 0 : 5 });
  }
}

const text = new TextDecoder();

Deno.test("COPY rows: whole and in order with a piece full every 7 rows; the connection is usable after", async () => {
  await withReserved(async (reserved) => {
    const rows: string[] = [];
    let pieces = 0;
    for await (
      const _ of copyOutRows(
        reserved,
        "COPY (SELECT x, repeat('r', x % 50) FROM generate_series(1, 20000) x) TO STDOUT",
        (row) => {
          rows.push(text.decode(row));
          return rows.length % 7 === 0;
        },
      )
    ) pieces++;
    assertEquals(rows.length, 20000);
    // Rows the socket already holds still come after a full piece, so pieces merge; but
    // each full piece stops the reading until the caller asks again.
    assert(pieces > 1, `pieces: ${pieces}`);
    rows.forEach((row, i) => assertEquals(row, `${i + 1}\t${"r".repeat((i + 1) % 50)}\n`));
    // A paused socket left behind would hang this query.
    assertEquals((await reserved`SELECT 41 + 1 AS n`)[0].n, 42);
  });
});

Deno.test("COPY rows: an error after some rows is thrown, not waited on forever", async () => {
  await withReserved(async (reserved) => {
    let seen = 0;
    await assertRejects(
      async () => {
        for await (
          const _ of copyOutRows(
            reserved,
            "COPY (SELECT 1 / (x - 30000) FROM generate_series(1, 40000) x) TO STDOUT",
            () => ++seen % 100 === 0,
          )
        ) { /* pieces */ }
      },
      Error,
      "division by zero",
    );
    assert(seen > 0 && seen < 30000, `rows before the error: ${seen}`);
    assertEquals((await reserved`SELECT 1 AS n`)[0].n, 1);
  });
});

Deno.test("COPY rows: a caller that stops after its first piece gets no further rows", async () => {
  // The COPY is cut off mid-way: the connection goes with it.
  await withReserved(async (reserved) => {
    let seen = 0;
    for await (
      const _ of copyOutRows(
        reserved,
        "COPY (SELECT x FROM generate_series(1, 200000) x) TO STDOUT",
        () => ++seen === 10,
      )
    ) break;
    const atBreak = seen;
    // Rows the socket had already read may still come; after that, nothing.
    await new Promise((resolve) => setTimeout(resolve, 300));
    assertEquals(seen, atBreak);
    assert(seen < 200000, `rows after stopping: ${seen}`);
  }, true);
});

Deno.test("COPY rows: a driver without the COPY stream it takes rows from fails at once, naming why", async () => {
  const rows = copyOutRows({ unsafe: () => Promise.resolve([]) }, "COPY t TO STDOUT", () => false);
  await assertRejects(() => rows.next(), Error, "no COPY stream to take rows from");
});
