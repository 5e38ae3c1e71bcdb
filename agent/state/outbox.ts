/**
 * The durable outbox (docs/wire-protocol.md section 5): every agent->server
 * message except Register, Heartbeat and Ack is stored, sealed, with its
 * final seq before it is sent, and leaves only once fully written to the
 * socket. After a reconnect the pending ones go again, in seq order, with
 * their original seq.
 *
 * @module
 */
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { type Envelope, EnvelopeSchema } from "@backupy/gen/backup/v1/envelope_pb.ts";
import type { StateStore } from "./state_store.ts";

/** Default bound on stored messages. */
export const OUTBOX_LIMIT = 10_000;

/** Payload kinds that may be dropped (oldest first) when the outbox is full. */
const DROPPABLE = ["log", "healthResult", "discovery"];

/** A stored message ready to send. */
export interface OutboxEntry {
  seq: bigint;
  kind: string;
  envelope: Envelope;
  bytes: Uint8Array;
}

/** What the outbox tells its watchers. */
export type OutboxListener = () => void;

/**
 * The outbox on top of the state store.
 *
 * @example
 * ```ts ignore
 * const seq = outbox.enqueue({ case: "jobUpdate", value: update }, { runId, terminal: true });
 * ```
 */
export class Outbox {
  readonly #store: StateStore;
  readonly #limit: number;
  readonly #listeners = new Set<OutboxListener>();

  /** The outbox of `store`, bounded to `limit` messages. */
  constructor(store: StateStore, limit = OUTBOX_LIMIT) {
    this.#store = store;
    this.#limit = limit;
  }

  /** Called after every enqueue (the sender wakes up). */
  onEnqueue(listener: OutboxListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Stores a message with the next seq; returns its envelope. `terminal`
   * marks a run's final message, which is never dropped. Call inside a
   * store transaction to make it atomic with other state changes.
   */
  enqueue(
    payload: Envelope["payload"],
    options: { runId?: string; terminal?: boolean; correlationId?: string } = {},
  ): Envelope {
    const store = this.#store;
    const envelope = store.transaction(() => {
      const seq = store.nextSeq();
      const envelope = create(EnvelopeSchema, {
        seq,
        tsMs: BigInt(store.now()),
        correlationId: options.correlationId ?? "",
        payload,
      });
      const bytes = toBinary(EnvelopeSchema, envelope);
      store.db.prepare(
        "INSERT INTO outbox (seq, kind, run_id, terminal, envelope, created_ms) VALUES (?, ?, ?, ?, ?, ?)",
      ).run(
        seq,
        payload.case ?? "unknown",
        options.runId ?? null,
        options.terminal ? 1 : 0,
        store.seal("outbox", String(seq), bytes),
        store.now(),
      );
      this.#enforceLimit();
      return envelope;
    });
    for (const listener of this.#listeners) listener();
    return envelope;
  }

  /** Drops the oldest droppable messages past the bound; final messages stay. */
  #enforceLimit(): void {
    const db = this.#store.db;
    const { n } = db.prepare("SELECT COUNT(*) AS n FROM outbox").get() as { n: number };
    const excess = n - this.#limit;
    if (excess <= 0) return;
    const kinds = DROPPABLE.map(() => "?").join(",");
    db.prepare(
      `DELETE FROM outbox WHERE seq IN (SELECT seq FROM outbox WHERE terminal = 0 AND kind IN (${kinds}) ORDER BY seq LIMIT ?)`,
    ).run(...DROPPABLE, excess);
  }

  /** Pending messages with seq above `after`, in seq order, at most `limit`. */
  pending(after = -1n, limit = 100): OutboxEntry[] {
    const rows = this.#store.db.prepare(
      "SELECT seq, kind, envelope FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?",
    ).all(after, limit) as { seq: number | bigint; kind: string; envelope: Uint8Array }[];
    return rows.map((row) => {
      const seq = BigInt(row.seq);
      const bytes = this.#store.unseal("outbox", String(seq), row.envelope);
      return { seq, kind: row.kind, bytes, envelope: fromBinary(EnvelopeSchema, bytes) };
    });
  }

  /** Removes a message once it has been fully written to the socket. */
  remove(seq: bigint): void {
    this.#store.db.prepare("DELETE FROM outbox WHERE seq = ?").run(seq);
  }

  /** Messages waiting. */
  get depth(): number {
    const { n } = this.#store.db.prepare("SELECT COUNT(*) AS n FROM outbox").get() as { n: number };
    return n;
  }
}
