/**
 * The durable state of the agent in `BACKUPY_STATE_DIR/state.db`, on
 * `node:sqlite` in WAL mode with `synchronous=FULL`: what is committed
 * survives a crash or `kill -9`. Secrets are sealed (state_sealer.ts).
 *
 * Tables: `meta` (plain facts: schema version, seq high-water mark, health),
 * `sealed` (sealed values by key: applied config, session), `outbox`
 * (outbox.ts), `runs` (run_records.ts) and `manifests` (manifest_store.ts).
 *
 * @module
 */
import { DatabaseSync, type SQLInputValue } from "node:sqlite";
import { join } from "node:path";
import { BackupyError } from "../../decrypt/errors.ts";
import type { Secret } from "../../decrypt/secret.ts";
import type { Logger } from "../log/logger.ts";
import { StateSealer, UnsealError } from "./state_sealer.ts";

const SCHEMA_VERSION = "1";
const KEY_CHECK = new TextEncoder().encode("backupy-state-check");
/** seq values reserved per durable write of the high-water mark. */
const SEQ_BLOCK = 64;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sealed (key TEXT PRIMARY KEY, value BLOB NOT NULL, updated_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS outbox (
  seq INTEGER PRIMARY KEY,
  kind TEXT NOT NULL,
  run_id TEXT,
  terminal INTEGER NOT NULL DEFAULT 0,
  envelope BLOB NOT NULL,
  created_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS runs (
  run_id TEXT PRIMARY KEY,
  job_id TEXT NOT NULL,
  state TEXT NOT NULL,
  step TEXT NOT NULL DEFAULT '',
  attempts INTEGER NOT NULL DEFAULT 0,
  outcome TEXT,
  request BLOB NOT NULL,
  final_envelope BLOB,
  created_ms INTEGER NOT NULL,
  updated_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS runs_by_state ON runs (state);
CREATE TABLE IF NOT EXISTS manifests (
  run_id TEXT PRIMARY KEY,
  job_id TEXT NOT NULL,
  created_ms INTEGER NOT NULL,
  backup_sha256 TEXT NOT NULL,
  manifest BLOB NOT NULL
);
`;

/** The file name of the store inside the state directory. */
export const STATE_FILE = "state.db";

/** Opens the store; see {@linkcode StateStore.open}. */
export interface OpenOptions {
  /** The agent key: seals and opens secrets. Absent: read-only inspection. */
  agentKey?: Secret<string>;
  /** Where problems are reported (a wrong key, a set-aside store). */
  log?: Logger;
  /** Clock (tests pass their own). */
  now?: () => number;
}

/**
 * The store. Synchronous on purpose: every call is a short local
 * transaction, and callers rely on "returned" meaning "on disk".
 */
export class StateStore {
  readonly db: DatabaseSync;
  readonly path: string;
  readonly #sealer?: StateSealer;
  readonly now: () => number;
  #seqNext = 0;
  #seqLimit = -1;

  private constructor(
    db: DatabaseSync,
    path: string,
    sealer: StateSealer | undefined,
    now: () => number,
  ) {
    this.db = db;
    this.path = path;
    this.#sealer = sealer;
    this.now = now;
  }

  /**
   * Opens (creating) `stateDir/state.db`. When the agent key cannot open the
   * sealed state (the key changed), the old store is set aside - renamed,
   * never deleted - and a fresh one started; the config comes back from the
   * server.
   */
  static open(stateDir: string, options: OpenOptions = {}): StateStore {
    const path = join(stateDir, STATE_FILE);
    const now = options.now ?? Date.now;
    const sealer = options.agentKey ? new StateSealer(options.agentKey) : undefined;
    let store = StateStore.#openFile(path, sealer, now);
    if (sealer && !store.#keyMatches()) {
      store.close();
      const aside = `${path}.unreadable-${new Date(now()).toISOString().replace(/[:.]/g, "-")}`;
      for (const suffix of ["", "-wal", "-shm"]) {
        try {
          Deno.renameSync(path + suffix, aside + suffix);
        } catch (error) {
          if (!(error instanceof Deno.errors.NotFound)) throw error;
        }
      }
      options.log?.error(
        "the state was sealed with another agent key and cannot be read: set aside, starting fresh; " +
          "the config will come back from the server",
        { set_aside_as: aside },
      );
      store = StateStore.#openFile(path, sealer, now);
      store.#keyMatches();
    }
    return store;
  }

  /**
   * Opens an existing store for inspection (dump-state, manifest): without
   * the agent key, so it can never be set aside; throws
   * {@linkcode BackupyError} when the directory holds no agent state.
   */
  static openExisting(stateDir: string): StateStore {
    try {
      Deno.statSync(join(stateDir, STATE_FILE));
    } catch {
      throw new BackupyError(`no agent state in ${stateDir}`);
    }
    return StateStore.open(stateDir);
  }

  static #openFile(path: string, sealer: StateSealer | undefined, now: () => number): StateStore {
    const db = new DatabaseSync(path);
    db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = 5000;");
    db.exec(SCHEMA);
    try {
      Deno.chmodSync(path, 0o600);
    } catch {
      // Best effort: the directory itself is 0700.
    }
    const store = new StateStore(db, path, sealer, now);
    if (store.getMeta("schema_version") === undefined) {
      store.setMeta("schema_version", SCHEMA_VERSION);
    }
    const reserved = Number(store.getMeta("seq_reserved") ?? "0");
    store.#seqNext = reserved + 1;
    store.#seqLimit = reserved;
    return store;
  }

  /** Checks (or, in a new store, writes) the sealed key check. */
  #keyMatches(): boolean {
    const sealed = this.db.prepare("SELECT value FROM sealed WHERE key = 'key_check'").get() as
      | { value: Uint8Array }
      | undefined;
    if (!sealed) {
      this.putSealed("key_check", KEY_CHECK);
      return true;
    }
    try {
      this.#sealer!.open("sealed", "key_check", sealed.value);
      return true;
    } catch (error) {
      if (error instanceof UnsealError) return false;
      throw error;
    }
  }

  /** Runs `work` in one transaction (all or nothing, durable when it returns). */
  transaction<T>(work: () => T): T {
    if (this.db.isTransaction) return work(); // nested: part of the outer one
    const seq = [this.#seqNext, this.#seqLimit];
    this.db.exec("BEGIN IMMEDIATE");
    try {
      const result = work();
      this.db.exec("COMMIT");
      return result;
    } catch (error) {
      this.db.exec("ROLLBACK");
      // A seq block reserved inside the transaction was rolled back with it.
      [this.#seqNext, this.#seqLimit] = seq;
      throw error;
    }
  }

  /** A plain (unsealed) fact. */
  getMeta(key: string): string | undefined {
    const row = this.db.prepare("SELECT value FROM meta WHERE key = ?").get(key) as
      | { value: string }
      | undefined;
    return row?.value;
  }

  /** Stores a plain fact. */
  setMeta(key: string, value: string): void {
    this.db.prepare(
      "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
    )
      .run(key, value);
  }

  /** Seals `value` for `table`/`rowKey` (throws without an agent key). */
  seal(table: string, rowKey: string, value: Uint8Array): Uint8Array {
    if (!this.#sealer) {
      throw new Error("internal error: the state store was opened without the agent key");
    }
    return this.#sealer.seal(table, rowKey, value);
  }

  /** Opens a value sealed for `table`/`rowKey`. */
  unseal(table: string, rowKey: string, value: Uint8Array): Uint8Array {
    if (!this.#sealer) {
      throw new Error("internal error: the state store was opened without the agent key");
    }
    return this.#sealer.open(table, rowKey, value);
  }

  /** Whether secrets can be opened (the store was opened with the agent key). */
  get canUnseal(): boolean {
    return this.#sealer !== undefined;
  }

  /** A sealed value of the `sealed` table, opened. */
  getSealed(key: string): Uint8Array | undefined {
    const row = this.db.prepare("SELECT value FROM sealed WHERE key = ?").get(key) as
      | { value: Uint8Array }
      | undefined;
    return row ? this.unseal("sealed", key, row.value) : undefined;
  }

  /** Seals and stores `value` under `key` in the `sealed` table. */
  putSealed(key: string, value: Uint8Array): void {
    this.db.prepare(
      "INSERT INTO sealed (key, value, updated_ms) VALUES (?, ?, ?) " +
        "ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_ms = excluded.updated_ms",
    ).run(key, this.seal("sealed", key, value), this.now());
  }

  /**
   * The next envelope sequence number: strictly increasing for the life of
   * the state directory, across restarts. Numbers are reserved in blocks so
   * not every message costs a durable write; a crash skips the rest of a block.
   */
  nextSeq(): bigint {
    if (this.#seqNext > this.#seqLimit) {
      this.#seqLimit = this.#seqNext + SEQ_BLOCK - 1;
      this.setMeta("seq_reserved", String(this.#seqLimit));
    }
    return BigInt(this.#seqNext++);
  }

  /** Runs a query and returns all rows (for dump-state and tests). */
  all(sql: string, ...params: SQLInputValue[]): Record<string, unknown>[] {
    return this.db.prepare(sql).all(...params) as Record<string, unknown>[];
  }

  /** Closes the database. */
  close(): void {
    if (this.db.isOpen) this.db.close();
  }
}
