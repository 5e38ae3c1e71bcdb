/**
 * `backupy-agent dump-state`: the state store as JSON for debugging.
 * Sealed values show as `<sealed N bytes>`; with `--allow-secrets` (and the
 * agent key) they are opened and decoded.
 *
 * @module
 */
import { fromBinary, toJson } from "@bufbuild/protobuf";
import { AgentConfigSchema, RunBackupSchema } from "@backupy/gen/backup/v1/server_to_agent_pb.ts";
import { EnvelopeSchema } from "@backupy/gen/backup/v1/envelope_pb.ts";
import type { Secret } from "../../decrypt/secret.ts";
import { StateSealer } from "../state/state_sealer.ts";
import { StateStore } from "../state/state_store.ts";

function sealedNote(value: unknown): string {
  return `<sealed ${(value as Uint8Array).length} bytes>`;
}

/** The store as a JSON-able object. */
export function dumpState(stateDir: string, agentKey?: Secret<string>): Record<string, unknown> {
  const store = StateStore.openExisting(stateDir);
  const sealer = agentKey ? new StateSealer(agentKey) : undefined;
  try {
    const open = (
      table: string,
      key: string,
      value: unknown,
      decode: (bytes: Uint8Array) => unknown,
    ) => {
      if (!sealer) return sealedNote(value);
      try {
        return decode(sealer.open(table, key, value as Uint8Array));
      } catch (error) {
        return `<cannot open: ${(error as Error).message}>`;
      }
    };
    const meta = Object.fromEntries(
      store.all("SELECT key, value FROM meta").map((r) => [r.key, r.value]),
    );
    const sealed = Object.fromEntries(
      store.all("SELECT key, value, updated_ms FROM sealed").map((r) => [
        r.key,
        open(
          "sealed",
          String(r.key),
          r.value,
          (bytes) =>
            r.key === "config"
              ? toJson(AgentConfigSchema, fromBinary(AgentConfigSchema, bytes))
              : `<${bytes.length} bytes>`,
        ),
      ]),
    );
    const outbox = store.all(
      "SELECT seq, kind, run_id, terminal, envelope, created_ms FROM outbox ORDER BY seq",
    )
      .map((r) => ({
        ...r,
        envelope: open(
          "outbox",
          String(r.seq),
          r.envelope,
          (bytes) => toJson(EnvelopeSchema, fromBinary(EnvelopeSchema, bytes)),
        ),
      }));
    const runs = store.all(
      "SELECT run_id, job_id, state, step, attempts, outcome, request, final_envelope, created_ms, updated_ms FROM runs ORDER BY created_ms",
    ).map((r) => ({
      ...r,
      request: open(
        "runs",
        String(r.run_id),
        r.request,
        (bytes) => toJson(RunBackupSchema, fromBinary(RunBackupSchema, bytes)),
      ),
      final_envelope: r.final_envelope === null
        ? null
        : open("runs.final", String(r.run_id), r.final_envelope, (
          bytes,
        ) => toJson(EnvelopeSchema, fromBinary(EnvelopeSchema, bytes))),
    }));
    // Encrypted with the run's DEK under the seal: never opened here.
    const manifests = store.all(
      "SELECT run_id, job_id, created_ms, backup_sha256, manifest FROM manifests ORDER BY created_ms",
    ).map((r) => ({ ...r, manifest: sealedNote(r.manifest) }));
    return { state_dir: stateDir, meta, sealed, outbox, runs, manifests };
  } finally {
    store.close();
  }
}
