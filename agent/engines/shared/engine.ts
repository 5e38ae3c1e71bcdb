/**
 * The one interface every engine implements (docs/agent.md section 5): probe the
 * server's version, estimate the size, dump to a byte stream, and say what
 * the dump's first bytes must be. Native engines speak the wire protocol;
 * DOCKER_EXEC ones run the engine's own tool through a {@linkcode
 * ContainerExec}.
 *
 * @module
 */

import type { DumpManifest } from "../../manifest/backup_manifest.ts";

export type { DumpManifest };

/**
 * The engine names each family declares for itself: its `mod.ts` adds its
 * names to this interface (declaration merging), so a name is written only
 * in its family's folder and adding an engine touches no shared file.
 */
// deno-lint-ignore no-empty-interface
export interface EngineNames {}

/** Engine names as discovery and the manifest spell them ("postgresql", "mariadb", ...). */
export type EngineName = keyof EngineNames & string;

/** What a dump format promises at its start. */
export interface DumpFormat {
  /** For messages: "SQLite database file", "pg_dump custom archive", ... */
  readonly description: string;
  /** Bytes needed before {@linkcode DumpFormat.checkHeader} can decide. */
  readonly headerBytes: number;
  /** null when `head` starts as promised, else what is wrong. */
  checkHeader(head: Uint8Array): string | null;
}

/** A dump in progress. */
export interface DumpStream {
  /** The dump's bytes. Cancelling it stops the dump. */
  readable: ReadableStream<Uint8Array>;
  /**
   * Resolves when the dump ended cleanly (exit status 0, no driver error,
   * nothing truncated) - only after `readable` was read to its end -, and
   * rejects with the reason otherwise.
   */
  finished: Promise<void>;
  /**
   * Per-object facts, when the engine collects them; resolves to undefined
   * when the dump turned out to be in a format that has none.
   */
  manifest?: Promise<DumpManifest | undefined>;
  /**
   * Takes back a chunk of `readable` that its reader will not read again
   * (its buffer may be reused for a later chunk); for dumps that build
   * their chunks in reusable buffers.
   */
  recycle?: (chunk: Uint8Array) => void;
}

/** What a dump may tell its caller while it runs. */
export interface DumpOptions {
  /** Something the user should read in the run's log (a non-transactional table). */
  warn?: (message: string) => void;
  /**
   * Also dump ownership and grants (PostgreSQL). Off by default, so a
   * dump restores elsewhere as another user, as `pg_dump --no-owner --no-acl`.
   */
  includePrivileges?: boolean;
  /**
   * The pipeline compresses the dump (zstd or gzip): a tool need not
   * compress it first (pg_dump -Fc then writes -Z0 and spends no CPU on zlib).
   */
  compressedDownstream?: boolean;
  /**
   * Collect the per-object facts of a manifest (row counts, digests) while
   * dumping; they cost extra reading, so only when someone keeps them.
   */
  manifest?: boolean;
}

/** One database engine behind one target. */
export interface Engine {
  readonly name: EngineName;
  readonly format: DumpFormat;
  /**
   * What a dump's garbage mostly is: large buffers (file or socket reads,
   * the default), which only full collections return promptly, or small
   * driver objects (rows), which young-generation scavenges free.
   */
  readonly dumpGarbage?: "buffers" | "objects";
  /** The server's version as it reports itself: `PostgreSQL 16.2`, `SQLite 3.45.1`, ... */
  version(signal?: AbortSignal): Promise<string>;
  /** Bytes the dump will roughly have, for an honest progress percentage. */
  estimateSize(signal?: AbortSignal): Promise<number | undefined>;
  /** Starts a consistent dump. */
  dump(signal: AbortSignal, options?: DumpOptions): Promise<DumpStream>;
  /**
   * Replays a dump this agent wrote into the target (local-mode restore);
   * absent when the engine restores only with its own server tooling.
   */
  restore?(
    source: ReadableStream<Uint8Array>,
    signal: AbortSignal,
    options?: RestoreOptions,
  ): Promise<RestoreResult>;
  /**
   * Drops a database of the server (a scratch database `verify --level
   * restore` made); absent for engines without databases to drop.
   */
  dropDatabase?(name: string): Promise<void>;
  /**
   * For a whole scratch server (`scratchRestore: "server"`): whether it holds
   * no data at all, and emptying it again after a restore was verified there.
   */
  holdsData?(): Promise<boolean>;
  empty?(): Promise<void>;
}

/** How a restore treats the target; each engine family lists the ones it honours. */
export interface RestoreOptions {
  /** One transaction per database (default true). */
  singleTransaction?: boolean;
  /** Drop and recreate a target database that already has tables. */
  clean?: boolean;
  /** Overwrite keys that exist in the target (Redis). */
  replace?: boolean;
  /** Drop each collection the backup holds before restoring it (MongoDB). */
  drop?: boolean;
  /** `FROM=TO` rules: databases or collections restored under other names (MongoDB). */
  rename?: readonly string[];
  /** Put before every database name: a scratch restore's own databases (MongoDB). */
  databasePrefix?: string;
  /**
   * Every key into the logical database the target URL names (a Redis
   * scratch restore of a one-database snapshot); without it such a URL is refused.
   */
  intoNamedDatabase?: boolean;
}

/** What a restore did. */
export interface RestoreResult {
  /** Statements executed, keys restored, or bytes written for file-based engines. */
  units: number;
  /** What `units` counts. */
  unit: "statements" | "keys" | "bytes" | "documents";
}

/** A dump failed; the message says what and never carries a secret. */
export class DumpError extends Error {}

/** Bytes as text for header messages: printable ASCII, hex otherwise. */
export function describeBytes(bytes: Uint8Array): string {
  const printable = bytes.every((b) => b >= 0x20 && b < 0x7f);
  return printable ? JSON.stringify(new TextDecoder().decode(bytes)) : `0x${bytes.toHex()}`;
}
