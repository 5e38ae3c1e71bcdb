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
        yield* copyData(stream as unknown as CopyStream, out, context.chunkBytes, digest);
        resumeAfterCopy(stream);
        out.text("\\.\n\n");
        dumped.add(table.name);
      },
    }));
  }
}

/** The Node readable postgres.js returns for COPY ... TO STDOUT. */
interface CopyStream {
  on(event: "data", listener: (chunk: Uint8Array) => void): void;
  on(event: "end", listener: () => void): void;
  on(event: "error", listener: (error: Error) => void): void;
  pause(): void;
  resume(): void;
}

/**
 * COPY data appended to `out`, yielded in pieces of `chunkBytes`. postgres.js
 * delivers one chunk per row; taking them as events and yielding per piece
 * (not per row) is what keeps the dump near pg_dump's speed. The stream is
 * paused while a full piece waits, so memory stays bounded.
 */
async function* copyData(
  stream: CopyStream,
  out: ByteBuilder,
  chunkBytes: number,
  digest?: RowDigest,
): AsyncGenerator<Uint8Array> {
  let ended = false;
  let failure: Error | null = null;
  let wake: (() => void) | null = null;
  const notify = () => {
    wake?.();
    wake = null;
  };
  stream.on("data", (chunk) => {
    // One chunk per row: the server sends each COPY row as its own message.
    digest?.add(chunk);
    out.bytes(chunk);
    if (out.length >= chunkBytes) {
      stream.pause();
      notify();
    }
  });
  stream.on("end", () => {
    ended = true;
    notify();
  });
  stream.on("error", (error) => {
    failure = error;
    notify();
  });
  for (;;) {
    if (failure) throw failure;
    if (out.length >= chunkBytes) {
      yield out.take();
      stream.resume();
      continue;
    }
    if (ended) return;
    await new Promise<void>((resolve) => wake = resolve);
  }
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
