/**
 * What service-mode verification keeps in the state store: the last ten
 * manifests of each job (sealed), and each job's latest backup with its
 * DEK sealed, a newer one replacing the older one's file.
 */
import { assert, assertEquals, assertThrows } from "../support/assert.ts";
import { join } from "node:path";
import { Secret } from "../../decrypt/secret.ts";
import { dekFromBytes } from "../../decrypt/dek.ts";
import { StateStore } from "../../agent/state/state_store.ts";
import { StateSealer, UnsealError } from "../../agent/state/state_sealer.ts";
import { MANIFESTS_KEPT, ManifestStore } from "../../agent/state/manifest_store.ts";
import { LatestBackups } from "../../agent/state/latest_backups.ts";

const KEY = new Secret("bkpy_test_abcdefghijklmnopqrstuvwxyz012345");

Deno.test("manifests: the last ten per job are kept, sealed, newest first", async () => {
  const dir = await Deno.makeTempDir();
  let now = 1000;
  const store = StateStore.open(dir, { agentKey: KEY, now: () => now++ });
  try {
    const manifests = new ManifestStore(store);
    for (let i = 0; i < 12; i++) {
      manifests.put("job-a", `a-${i}`, `sha-${i}`, new Uint8Array([i]));
    }
    manifests.put("job-b", "b-0", "sha-b", new Uint8Array([99]));
    const ofA = manifests.list().filter((m) => m.jobId === "job-a").map((m) => m.runId);
    assertEquals(ofA.length, MANIFESTS_KEPT);
    assertEquals(ofA[0], "a-11", "newest first");
    assertEquals(manifests.sealed("a-1"), undefined, "the oldest went");
    assertEquals(manifests.sealed("b-0")!.backupSha256, "sha-b");
    // Sealed for its row: opened with the agent key, and only as that row.
    const kept = manifests.sealed("a-5")!;
    const sealer = new StateSealer(KEY);
    assertEquals(sealer.open("manifests", "a-5", kept.sealed), new Uint8Array([5]));
    assertThrows(() => sealer.open("manifests", "a-6", kept.sealed), UnsealError);
  } finally {
    store.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("latest backups: a newer backup replaces the job's file; the DEK comes back sealed", async () => {
  const dir = await Deno.makeTempDir();
  const store = StateStore.open(dir, { agentKey: KEY });
  try {
    const latest = new LatestBackups(store, dir);
    const dek = dekFromBytes(crypto.getRandomValues(new Uint8Array(32)), "test");
    for (const run of ["r1", "r2"]) {
      const staged = join(dir, `${run}.enc`);
      await Deno.writeTextFile(staged, run);
      await latest.keep("job-1", run, staged, { dek, sha256: `sha-${run}` });
    }
    const kept = latest.get("job-1")!;
    assertEquals(kept.runId, "r2");
    assertEquals(await Deno.readTextFile(kept.path), "r2");
    assertEquals(kept.dek.reveal(), dek.reveal());
    assertEquals([...Deno.readDirSync(latest.dir)].map((e) => e.name), ["job-1-r2.enc"]);
    assertEquals(latest.jobIds(), ["job-1"]);
    // The DEK is not readable in the store itself.
    const sealed = store.all("SELECT value FROM sealed WHERE key = 'latest_backup:job-1'")[0]
      .value as Uint8Array;
    assert(!new TextDecoder().decode(sealed).includes(dek.reveal().toHex()));
  } finally {
    store.close();
    await Deno.remove(dir, { recursive: true });
  }
});
