/** The state store: sealing, seq, outbox, runs, a changed agent key. */
import { assert, assertEquals, assertThrows } from "../support/assert.ts";
import { create } from "@bufbuild/protobuf";
import { Secret } from "../../decrypt/secret.ts";
import { deriveStateKey, StateSealer, UnsealError } from "../../agent/state/state_sealer.ts";
import { StateStore } from "../../agent/state/state_store.ts";
import { Outbox } from "../../agent/state/outbox.ts";
import { RunRecords } from "../../agent/state/run_records.ts";
import { Logger } from "../../agent/log/logger.ts";
import { JobStatus } from "@backupy/gen/backup/v1/common_pb.ts";
import { JobUpdateSchema, LogEventSchema } from "@backupy/gen/backup/v1/agent_to_server_pb.ts";
import { RunBackupSchema } from "@backupy/gen/backup/v1/server_to_agent_pb.ts";

const KEY = new Secret("bkpy_test_abcdefghijklmnopqrstuvwxyz012345");
const OTHER_KEY = new Secret("bkpy_test_ZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ");

Deno.test("state key derivation matches the spec's known answer", () => {
  assertEquals(
    deriveStateKey(KEY).toHex(),
    "edafa90179a80c5808f10f13aa8e72d737f965d4a68e83786ed38cd3c97a4e89",
  );
});

Deno.test("sealed values are bound to their table and row", () => {
  const sealer = new StateSealer(KEY);
  const sealed = sealer.seal("runs", "run-1", new TextEncoder().encode("dek"));
  assertEquals(sealed[0], 1);
  assertEquals(sealed.length, 1 + 12 + 3 + 16);
  assertEquals(new TextDecoder().decode(sealer.open("runs", "run-1", sealed)), "dek");
  assertThrows(() => sealer.open("runs", "run-2", sealed), UnsealError);
  assertThrows(() => sealer.open("outbox", "run-1", sealed), UnsealError);
  assertThrows(() => new StateSealer(OTHER_KEY).open("runs", "run-1", sealed), UnsealError);
});

Deno.test("seq strictly increases across reopen, never repeating", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const seen: bigint[] = [];
    for (let round = 0; round < 3; round++) {
      const store = StateStore.open(dir, { agentKey: KEY });
      for (let i = 0; i < 100; i++) seen.push(store.nextSeq());
      store.close(); // like a crash: the rest of a reserved block is skipped
    }
    for (let i = 1; i < seen.length; i++) assert(seen[i] > seen[i - 1], `seq ${i}`);
    assertEquals(seen[0], 1n);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a changed agent key sets the old state aside and starts fresh", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const first = StateStore.open(dir, { agentKey: KEY });
    first.putSealed("config", new Uint8Array([1, 2, 3]));
    first.close();
    const lines: string[] = [];
    const log = Logger.create("info", (line) => lines.push(line));
    const second = StateStore.open(dir, { agentKey: OTHER_KEY, log });
    assertEquals(second.getSealed("config"), undefined);
    second.close();
    const names = [...Deno.readDirSync(dir)].map((e) => e.name);
    assert(names.some((n) => n.startsWith("state.db.unreadable-")), names.join());
    assert(lines.some((l) => l.includes("sealed with another agent key")));
    assert(!lines.join().includes(OTHER_KEY.reveal()));
    // The old key can still read what was set aside: nothing was lost.
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("outbox: sealed at rest, seq order, bounded without dropping final messages", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const store = StateStore.open(dir, { agentKey: KEY });
    const outbox = new Outbox(store, 5);
    outbox.enqueue({
      case: "jobUpdate",
      value: create(JobUpdateSchema, { jobId: "j", status: JobStatus.FAILED }),
    }, {
      runId: "r1",
      terminal: true,
    });
    for (let i = 0; i < 8; i++) {
      outbox.enqueue({ case: "log", value: create(LogEventSchema, { message: `line ${i}` }) });
    }
    assertEquals(outbox.depth, 5);
    const pending = outbox.pending();
    assertEquals(pending[0].kind, "jobUpdate"); // the final message survived
    assertEquals(
      pending.map((p) => p.seq),
      [...pending.map((p) => p.seq)].sort((a, b) => (a < b ? -1 : 1)),
    );
    assertEquals(pending.at(-1)!.envelope.payload.case, "log");
    // At rest the messages are sealed, not protobuf.
    const raw = store.all("SELECT envelope FROM outbox")[0].envelope as Uint8Array;
    assertEquals(raw[0], 1);
    outbox.remove(pending[0].seq);
    assertEquals(outbox.depth, 4);
    store.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("runs: one record per run_id, finish queues the final message once", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const store = StateStore.open(dir, { agentKey: KEY });
    const outbox = new Outbox(store);
    const runs = new RunRecords(store);
    const request = create(RunBackupSchema, {
      jobId: "j1",
      runId: "r1",
      encryptedDek: new Uint8Array(32),
    });
    assertEquals(runs.insert(request), true);
    assertEquals(runs.insert(request), false);
    runs.setState("r1", "running", "dumping");
    assertEquals(runs.unfinished().map((r) => r.step), ["dumping"]);
    const payload = {
      case: "jobUpdate" as const,
      value: create(JobUpdateSchema, { jobId: "j1", runId: "r1", status: JobStatus.FAILED }),
    };
    assertEquals(runs.finish("r1", "failed", payload, outbox), true);
    assertEquals(runs.finish("r1", "failed", payload, outbox), false);
    assertEquals(outbox.depth, 1);
    assertEquals(runs.get("r1")?.finalPayload?.case, "jobUpdate");
    assertEquals(runs.unfinished().length, 0);
    store.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
