/**
 * The `mongodump --archive` format (docs/engines.md section 2), written so
 * `mongorestore --archive` accepts it: the magic, a prelude (header
 * document, one document per namespace with its metadata as canonical
 * Extended JSON, a terminator), then per namespace a block header, the raw
 * BSON documents, a terminator, and an EOF header carrying the CRC-64/XZ of
 * those documents' bytes. Namespaces never interleave here: each is written
 * whole, then closed.
 *
 * @module
 */
import { concatBytes } from "../../../decrypt/concat_bytes.ts";
import { EJSON, Int32, Long, serialize } from "bson";
import { ARCHIVE_MAGIC, TERMINATOR } from "./mongo_archive_format.ts";

/** One namespace as the prelude lists it. */
export interface PreludeEntry {
  db: string;
  collection: string;
  type: "collection" | "view" | "timeseries";
  /** listCollections `options` (may be empty). */
  options: Record<string, unknown>;
  /** listIndexes documents, in order (empty for views). */
  indexes: Record<string, unknown>[];
  /** listCollections `info.uuid` as hex, when there is one. */
  uuid?: string;
}

/**
 * The metadata string mongorestore reads: canonical Extended JSON of
 * options (left out when empty), indexes (never null), uuid, collectionName
 * and type.
 */
export function collectionMetadata(entry: PreludeEntry): string {
  const doc: Record<string, unknown> = {};
  if (Object.keys(entry.options).length > 0) doc.options = entry.options;
  doc.indexes = entry.indexes;
  if (entry.uuid) doc.uuid = entry.uuid;
  doc.collectionName = entry.collection;
  doc.type = entry.type;
  return EJSON.stringify(doc, { relaxed: false });
}

/** "7.0.4" from "7.0.4-rc1" or "7.0.4+ent"; mongorestore refuses anything else. */
export function archiveServerVersion(version: string): string {
  const match = /^(\d+\.\d+\.\d+)/.exec(version);
  return match ? match[1] : "0.0.0";
}

/** Magic, header document, prelude entries, terminator. */
export function encodePrelude(
  serverVersion: string,
  toolVersion: string,
  entries: PreludeEntry[],
): Uint8Array {
  const parts: Uint8Array[] = [
    ARCHIVE_MAGIC,
    serialize({
      concurrent_collections: new Int32(1),
      version: "0.1",
      server_version: archiveServerVersion(serverVersion),
      tool_version: toolVersion,
    }),
  ];
  for (const entry of entries) {
    parts.push(serialize({
      db: entry.db,
      collection: entry.collection,
      metadata: collectionMetadata(entry),
      size: new Int32(0),
      type: entry.type,
    }));
  }
  parts.push(TERMINATOR);
  return concatBytes(parts);
}

/** The header that opens a namespace's block. */
export function encodeBlockHeader(db: string, collection: string): Uint8Array {
  return serialize({ db, collection, EOF: false, CRC: Long.fromNumber(0) });
}

/** Terminator, then the namespace's EOF header with its CRC, then a terminator. */
export function encodeNamespaceEnd(db: string, collection: string, crc: bigint): Uint8Array {
  return concatBytes([
    TERMINATOR,
    serialize({ db, collection, EOF: true, CRC: Long.fromBigInt(BigInt.asIntN(64, crc)) }),
    TERMINATOR,
  ]);
}
