/**
 * Table data: one `COPY ... FROM stdin` block per plain table, read with
 * `COPY ... TO STDOUT` inside the dump's snapshot and streamed with
 * backpressure (a partitioned table holds no rows of its own; COPY TO reads
 * only the table itself, never its children).
 *
 * @module
 */
import type { ByteBuilder } from "../../../../bytes/byte_builder.ts";
import { RowDigest } from "../../../../manifest/row_digest.ts";
import { type PausableStream, pausedStreamPieces } from "../../../shared/paused_stream_pieces.ts";
import type { DumpContext } from "../dump_context.ts";
import { catalogKey, dumpObject, PRIORITY } from "../dump_object.ts";
import type { TableFacts } from "./tables.ts";

/** A TABLE DATA object per plain table; `dumped` collects the names as each one ends. */
export function collectTableData(
  context: DumpContext,
  tables: TableFacts[],
  dumped: Set<string>,
): void {
  for (const table of tables.filter((t) => t.relkind === "r")) {
    // No list for a table without columns (or only generated ones): COPY then takes what it can.
    const list = table.copyColumns.length ? ` (${table.copyColumns.join(", ")})` : "";
    context.add(dumpObject({
      key: `data:${catalogKey("pg_class", table.oid)}`,
      label: `TABLE DATA ${table.name}`,
      priority: PRIORITY.tableData,
      sortName: table.name,
      section: "data",
      needs: [catalogKey("pg_class", table.oid)],
      write: async function* (out) {
        out.text(`COPY ${table.name}${list} FROM stdin;\n`);
        const stream = await context.sql.unsafe(`COPY ${table.name}${list} TO STDOUT`).readable();
        let digest: RowDigest | undefined;
        if (context.digests) {
          digest = new RowDigest();
          context.digests.set(table.name, digest);
        }
        yield* copyData(
          stream as unknown as PausableStream<Uint8Array>,
          out,
          context.chunkBytes,
          digest,
        );
        resumeAfterCopy(stream);
        out.text("\\.\n\n");
        dumped.add(table.name);
      },
    }));
  }
}

/**
 * COPY data appended to `out`, yielded in pieces of `chunkBytes`. postgres.js
 * delivers one chunk per row; taking them as events and yielding per piece
 * (not per row) is what keeps the dump near pg_dump's speed. The stream is
 * paused while a full piece waits, so memory stays bounded; what is left at
 * the end stays in `out` for the caller.
 */
async function* copyData(
  stream: PausableStream<Uint8Array>,
  out: ByteBuilder,
  chunkBytes: number,
  digest?: RowDigest,
): AsyncGenerator<Uint8Array> {
  const pieces = pausedStreamPieces(stream, (chunk) => {
    // One chunk per row: the server sends each COPY row as its own message.
    digest?.add(chunk);
    out.bytes(chunk);
    return out.length >= chunkBytes;
  });
  for await (const _ of pieces) yield out.take();
}

/**
 * postgres.js 3.4.9 pauses the socket when a COPY stream's buffer is full
 * and resumes it from the stream's read(); if the COPY ends while paused, no
 * read() ever comes and the connection hangs on the next query (seen in
 * about one dump in three). Calling the stream's read once more after its
 * end resumes the socket; on a socket that is not paused it does nothing.
 */
function resumeAfterCopy(stream: unknown): void {
  (stream as { _read?: (size: number) => void })._read?.(0);
}
