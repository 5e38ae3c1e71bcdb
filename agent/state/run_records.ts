/**
 * Runs as the state store remembers them, so that every run the agent
 * accepted ends with exactly one terminal message, also after a crash
 * (docs/agent.md section 3, step 11). The RunBackup request (with its DEK and
 * presigned URL) and the final message are sealed.
 *
 * @module
 */
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { type RunBackup, RunBackupSchema } from "@backupy/gen/backup/v1/server_to_agent_pb.ts";
import { type Envelope, EnvelopeSchema } from "@backupy/gen/backup/v1/envelope_pb.ts";
import type { Outbox } from "./outbox.ts";
import type { StateStore } from "./state_store.ts";

/** Where a run is. */
export type RunState = "received" | "queued" | "running" | "finished";
/** How a finished run ended. */
export type RunOutcome = "success" | "failed" | "cancelled";

/** A run as stored. */
export interface RunRecord {
  runId: string;
  jobId: string;
  state: RunState;
  step: string;
  /** Attempts that counted against retry.max_attempts. */
  attempts: number;
  outcome?: RunOutcome;
  request: RunBackup;
  /** The final message's payload, once finished (re-sent for a duplicate RunBackup). */
  finalPayload?: Envelope["payload"];
  createdMs: number;
}

interface Row {
  run_id: string;
  job_id: string;
  state: RunState;
  step: string;
  attempts: number;
  outcome: RunOutcome | null;
  request: Uint8Array;
  final_envelope: Uint8Array | null;
  created_ms: number;
}

/** Finished runs kept for duplicate detection. */
const KEEP_FINISHED = 1000;

/** The runs table. */
export class RunRecords {
  readonly #store: StateStore;

  /** Runs in `store`. */
  constructor(store: StateStore) {
    this.#store = store;
  }

  #decode(row: Row): RunRecord {
    const store = this.#store;
    const request = fromBinary(RunBackupSchema, store.unseal("runs", row.run_id, row.request));
    let finalPayload: Envelope["payload"] | undefined;
    if (row.final_envelope) {
      const bytes = store.unseal("runs.final", row.run_id, row.final_envelope);
      finalPayload = fromBinary(EnvelopeSchema, bytes).payload;
    }
    return {
      runId: row.run_id,
      jobId: row.job_id,
      state: row.state,
      step: row.step,
      attempts: row.attempts,
      outcome: row.outcome ?? undefined,
      request,
      finalPayload,
      createdMs: row.created_ms,
    };
  }

  /** Records a newly received run; false when the run_id is already known. */
  insert(request: RunBackup): boolean {
    const store = this.#store;
    const result = store.db.prepare(
      "INSERT OR IGNORE INTO runs (run_id, job_id, state, request, created_ms, updated_ms) VALUES (?, ?, 'received', ?, ?, ?)",
    ).run(
      request.runId,
      request.jobId,
      store.seal("runs", request.runId, toBinary(RunBackupSchema, request)),
      store.now(),
      store.now(),
    );
    return Number(result.changes) === 1;
  }

  /** A run by id. */
  get(runId: string): RunRecord | undefined {
    const row = this.#store.db.prepare("SELECT * FROM runs WHERE run_id = ?").get(runId) as
      | Row
      | undefined;
    return row ? this.#decode(row) : undefined;
  }

  /** Moves a run to `state` (and `step`). */
  setState(runId: string, state: Exclude<RunState, "finished">, step = ""): void {
    this.#store.db.prepare("UPDATE runs SET state = ?, step = ?, updated_ms = ? WHERE run_id = ?")
      .run(state, step, this.#store.now(), runId);
  }

  /** Counts one attempt against the retry budget; returns the new count. */
  countAttempt(runId: string): number {
    this.#store.db.prepare(
      "UPDATE runs SET attempts = attempts + 1, updated_ms = ? WHERE run_id = ?",
    )
      .run(this.#store.now(), runId);
    return (this.#store.db.prepare("SELECT attempts FROM runs WHERE run_id = ?").get(runId) as {
      attempts: number;
    }).attempts;
  }

  /**
   * Finishes a run and queues its final message, in one transaction: the
   * run is finished exactly when its terminal message is durably queued.
   * Returns false (and queues nothing) when the run was already finished.
   */
  finish(
    runId: string,
    outcome: RunOutcome,
    payload: Envelope["payload"],
    outbox: Outbox,
  ): boolean {
    const store = this.#store;
    return store.transaction(() => {
      const row = store.db.prepare("SELECT state FROM runs WHERE run_id = ?").get(runId) as
        | { state: RunState }
        | undefined;
      if (!row || row.state === "finished") return false;
      const envelope = outbox.enqueue(payload, { runId, terminal: true });
      store.db.prepare(
        "UPDATE runs SET state = 'finished', outcome = ?, step = '', final_envelope = ?, updated_ms = ? WHERE run_id = ?",
      ).run(
        outcome,
        store.seal(
          "runs.final",
          runId,
          toBinary(EnvelopeSchema, create(EnvelopeSchema, { payload: envelope.payload })),
        ),
        store.now(),
        runId,
      );
      this.#prune();
      return true;
    });
  }

  /** Runs not finished (to recover after a restart), oldest first. */
  unfinished(): RunRecord[] {
    const rows = this.#store.db.prepare(
      "SELECT * FROM runs WHERE state != 'finished' ORDER BY created_ms",
    ).all() as unknown as Row[];
    return rows.map((row) => this.#decode(row));
  }

  #prune(): void {
    this.#store.db.prepare(
      "DELETE FROM runs WHERE state = 'finished' AND run_id NOT IN " +
        "(SELECT run_id FROM runs WHERE state = 'finished' ORDER BY updated_ms DESC LIMIT ?)",
    ).run(KEEP_FINISHED);
  }
}
