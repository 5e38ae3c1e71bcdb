/**
 * Table data: one `COPY ... FROM stdin` block per plain table, read with
 * `COPY ... TO STDOUT` inside the dump's snapshot and streamed with
 * backpressure (a partitioned table holds no rows of its own; COPY TO reads
 * only the table itself, never its children).
 *
 * @module
 */
import type { ByteBuilder } from "../../../../bytes/byte_builder.ts";
import { withRoom } from "../../../../bytes/with_room.ts";
import { RowDigest } from "../../../../manifest/row_digest.ts";
import { copyOutRows } from "../copy_out_rows.ts";
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
        let digest: RowDigest | undefined;
        if (context.digests) {
          digest = new RowDigest();
          context.digests.set(table.name, digest);
        }
        yield* copyData(context, `COPY ${table.name}${list} TO STDOUT`, out, digest);
        out.text("\\.\n\n");
        dumped.add(table.name);
      },
    }));
  }
}

/**
 * COPY data appended to `out`, yielded in pieces of `chunkBytes` (not per
 * row: that is what keeps the dump near pg_dump's speed). Reading stops
 * while a full piece waits, so memory stays bounded; what is left at the end
 * stays in `out` for the caller. The rows are digested a piece at a time,
 * where they already lie one after another in `out`.
 */
async function* copyData(
  context: DumpContext,
  copyStatement: string,
  out: ByteBuilder,
  digest?: RowDigest,
): AsyncGenerator<Uint8Array> {
  const rows = new PieceRows(out, digest);
  const pieces = copyOutRows(
    context.sql,
    context.copyTap(),
    copyStatement,
    (source, spans, count) => {
      const before = out.length;
      out.spans(source, spans, count);
      rows.appended(before, spans, count);
      return out.length >= context.chunkBytes;
    },
  );
  for await (const _ of pieces) {
    rows.digest();
    yield out.take();
  }
  rows.digest();
}

/** Where the rows of the piece being built end in `out`, for the digest. */
class PieceRows {
  readonly #out: ByteBuilder;
  readonly #digest?: RowDigest;
  /** Where the piece's first row starts: after what `out` held before it. */
  #from: number;
  #ends = new Uint32Array(4096);
  #count = 0;

  constructor(out: ByteBuilder, digest?: RowDigest) {
    this.#out = out;
    this.#digest = digest;
    this.#from = out.length;
  }

  /** `count` rows, spanning as in `spans`, were just appended to `out` from offset `at`. */
  appended(at: number, spans: Uint32Array, count: number): void {
    if (!this.#digest) return;
    this.#ends = withRoom(this.#ends, this.#count, this.#count + count);
    let end = at - this.#from;
    for (let i = 0; i < 2 * count; i += 2) {
      end += spans[i + 1] - spans[i];
      this.#ends[this.#count++] = end;
    }
  }

  /** Digests the piece's rows; `out` is about to be taken (or ended), so the next piece starts at 0. */
  digest(): void {
    if (this.#digest && this.#count > 0) {
      this.#digest.addRows(this.#out.view(this.#from), this.#ends, this.#count);
    }
    this.#count = 0;
    this.#from = 0;
  }
}
