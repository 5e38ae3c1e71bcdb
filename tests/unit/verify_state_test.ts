/**
 * What service-mode verification keeps in the state store: the last ten
 * manifests of each job (sealed), and each job's latest backup with its
 * DEK sealed, a newer one replacing the older one's file.
 */
import { assert, assertEquals } from "../support/assert.ts";
import { join } from "node:path";
import { Secret } from "../../decrypt/secret.ts";
import { dekFromBytes } from "../../decrypt/dek.ts";
import { StateStore } from "../../agent/state/state_store.ts";
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
    assertEquals(manifests.runIds("job-a").length, MANIFESTS_KEPT);
    assertEquals(manifests.runIds("job-a")[0], "a-11");
    assertEquals(manifests.get("a-1"), undefined, "the oldest went");
    assertEquals(manifests.get("a-5")!.encrypted, new Uint8Array([5]));
    assertEquals(manifests.get("b-0")!.backupSha256, "sha-b");
    // Sealed: the stored bytes are not the manifest's.
    const raw = store.all("SELECT manifest FROM manifests WHERE run_id = 'a-5'")[0]
      .manifest as Uint8Array;
    assert(raw.length > 1 && raw[0] === 1, "a sealed value");
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
