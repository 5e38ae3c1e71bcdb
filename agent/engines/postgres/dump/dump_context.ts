/**
 * What every object kind of the PostgreSQL dump reads the catalog with and
 * hands its objects to: the query function inside the dump's snapshot, the
 * server's version, and the collection the sort takes them from.
 *
 * @module
 */
import type { ReservedSql, Row } from "postgres";
import type { RowDigest } from "../../../manifest/row_digest.ts";
import type { CopyTap } from "./copy_tap.ts";
import type { DumpObject } from "./dump_object.ts";

/** What the kinds share while the dump collects its objects. */
export interface DumpContext {
  /** The dump's connection, inside its snapshot (data is read through it too). */
  readonly sql: ReservedSql;
  /** The tap on the connection's socket, that COPY rows are read with. */
  copyTap(): CopyTap;
  /** `server_version_num`, for catalog differences between releases. */
  readonly versionNum: number;
  /** Per table, the digest of its COPY rows, when a manifest is asked for. */
  readonly digests?: Map<string, RowDigest>;
  /** Owners and grants too. */
  readonly includePrivileges: boolean;
  /** Yield output in pieces of about this size. */
  readonly chunkBytes: number;
  /** Runs one catalog query. */
  q<T extends Row = Row>(text: string): Promise<T[]>;
  /** Adds an object to the dump. */
  add(object: DumpObject): void;
  /**
   * Says that dependencies on catalog object `from` (a key) are
   * dependencies on the dump object `to`: a domain's constraint is written
   * with its domain, a table's column default by the default's own object.
   */
  alias(from: string, to: string): void;
  /**
   * Redirects the dependency of `from` on `on` to `instead` (a base type's
   * I/O functions need its shell type, not the type they define).
   */
  redirect(from: string, on: string, instead: string): void;
}

/** One kind of object: reads its rows from the catalog and adds its objects. */
export type ObjectKind = (context: DumpContext) => Promise<void>;
