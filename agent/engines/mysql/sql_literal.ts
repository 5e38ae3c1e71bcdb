/**
 * MySQL/MariaDB values as SQL literals, the way `mysqldump --hex-blob`
 * writes them: numbers exactly as the server printed them, strings quoted
 * with backslash escapes, binary, spatial and BIT values as hex (as
 * `mysqldump --hex-blob` does, so a restored copy re-dumped by it reads the
 * same).
 * Values arrive as the raw bytes of the text protocol, so nothing is
 * reinterpreted on the way (DECIMAL, float text, zero dates all survive).
 *
 * @module
 */
import type { ByteBuilder } from "../../bytes/byte_builder.ts";

/** How a column's values are written. */
export type LiteralKind = "number" | "string" | "binary";

const NUMERIC = new Set([
  "tinyint",
  "smallint",
  "mediumint",
  "int",
  "integer",
  "bigint",
  "decimal",
  "numeric",
  "float",
  "double",
  "real",
  "year",
]);
const BINARY = new Set([
  "binary",
  "varbinary",
  "tinyblob",
  "blob",
  "mediumblob",
  "longblob",
  "geometry",
  "point",
  "linestring",
  "polygon",
  "multipoint",
  "multilinestring",
  "multipolygon",
  "geometrycollection",
  "bit",
]);

/** The literal kind for an information_schema DATA_TYPE. */
export function literalKind(dataType: string): LiteralKind {
  const type = dataType.toLowerCase();
  if (NUMERIC.has(type)) return "number";
  if (BINARY.has(type)) return "binary";
  return "string";
}

/** Escapes of the bytes mysqldump escapes; UTF-8 multi-byte sequences never contain them. */
const ESCAPE = new Array<string | undefined>(256);
ESCAPE[0x00] = "\\0";
ESCAPE[0x0a] = "\\n";
ESCAPE[0x0d] = "\\r";
ESCAPE[0x1a] = "\\Z";
ESCAPE[0x22] = '\\"';
ESCAPE[0x27] = "\\'";
ESCAPE[0x5c] = "\\\\";

/**
 * Appends the literal for `value` (null for SQL NULL) of `kind`.
 *
 * @example
 * ```ts
 * import { appendLiteral } from "./sql_literal.ts";
 * import { ByteBuilder } from "../../bytes/byte_builder.ts";
 * const out = new ByteBuilder();
 * appendLiteral(out, new TextEncoder().encode("it's"), "string");
 * console.assert(new TextDecoder().decode(out.take()) === "'it\\'s'");
 * ```
 */
export function appendLiteral(out: ByteBuilder, value: Uint8Array | null, kind: LiteralKind): void {
  if (value === null) return out.text("NULL");
  switch (kind) {
    case "number":
      return out.bytes(value);
    case "binary":
      return value.length === 0 ? out.text("''") : out.hex(value);
    case "string": {
      out.byte(0x27);
      let start = 0;
      for (let i = 0; i < value.length; i++) {
        const escape = ESCAPE[value[i]];
        if (escape === undefined) continue;
        if (i > start) out.bytes(value.subarray(start, i));
        out.text(escape);
        start = i + 1;
      }
      if (start < value.length) out.bytes(value.subarray(start));
      out.byte(0x27);
    }
  }
}

/** A backtick-quoted identifier. */
export function quoteName(name: string): string {
  return "`" + name.replaceAll("`", "``") + "`";
}
