/**
 * A manifest for a dump whose engine collects none while dumping (the
 * DOCKER_EXEC engines run the server's own tool; Redis sends an RDB): the
 * dump's bytes, as they go by on their way to compression, are read by the
 * same format check `verify --level manifest` uses, and the per-object
 * counts and digests it finds - and the position it records, an RDB's
 * replication offset - become the manifest. Formats that give no
 * per-object digests (compressed pg_dump archives, SQLite files) get none.
 *
 * @module
 */
import type { DumpManifest, DumpStream } from "../engines/shared/engine.ts";
import { checkFor, SniffedCheck } from "./verify_structure.ts";
import { FILE_ENGINES, loadFormatChecks } from "../engines/registry.ts";

/** `dump` with a manifest read from its own bytes; unchanged when it has one already. */
export async function withStreamManifest(
  dump: DumpStream,
  tempDir: string,
): Promise<DumpStream> {
  if (dump.manifest) return dump;
  const formats = await loadFormatChecks();
  // A database file (SQLite) would need a copy of itself to be read: it gets no manifest here.
  const isDatabaseFile = (head: Uint8Array) =>
    FILE_ENGINES.some((f) => f.formats.some(({ format }) => format.checkHeader(head) === null));
  const sniffed = new SniffedCheck((head) =>
    head.length === 0 || isDatabaseFile(head) ? null : checkFor(head, tempDir, formats, true)
  );
  let broken: Error | null = null;
  // The engine's `finished` can settle while its last bytes are still on their
  // way through here (a small RDB: all of it): the check settles only after both.
  let allPassed!: () => void;
  const passed = new Promise<void>((resolve) => (allPassed = resolve));
  const readable = dump.readable.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        // The manifest never fails the backup: a check that throws just stops being fed.
        if (broken === null) {
          try {
            sniffed.update(chunk);
          } catch (error) {
            broken = error as Error;
          }
        }
        controller.enqueue(chunk);
      },
      flush: () => allPassed(),
    }),
  );
  const manifest = Promise.all([dump.finished, passed]).then(async (): Promise<
    DumpManifest | undefined
  > => {
    if (broken) throw broken;
    const check = sniffed.settle();
    if (!check) return undefined;
    const problems = await check.finish();
    if (problems.length > 0) throw new Error(problems.join("; "));
    const objects = check.objects?.() ?? [];
    // Compressed pg_dump archives, an RDB the walk could not finish: nothing per object.
    if (objects.length === 0 || objects.some((o) => o.digest === undefined)) return undefined;
    const snapshot = check.snapshot?.();
    return snapshot ? { objects, snapshot } : { objects };
  });
  manifest.catch(() => {});
  // The format checks may keep views of the chunks they were fed: none goes back for reuse.
  return { ...dump, readable, manifest, recycle: undefined };
}
