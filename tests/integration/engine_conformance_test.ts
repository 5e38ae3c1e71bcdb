/**
 * The same checks for every engine family the registry lists, through the
 * programs as a user runs them: back up a database of the family's test
 * server, decrypt it to the family's own format, verify it at the structure
 * and manifest levels, restore it with `backupy-agent restore` and compare
 * the copy with its source using the engine's own tools, and prove it at the
 * restore level. What a family cannot do yet must fail loudly with what to
 * do instead - the row says so - never succeed partially. A family without
 * a subject (tests/support/conformance_subjects.ts) fails its row.
 */
import { join } from "node:path";
import { ENGINES } from "../../agent/engines/registry.ts";
import { tempDir } from "../support/agent_fixtures.ts";
import { assert, assertEquals, assertMatch, assertStringIncludes } from "../support/assert.ts";
import { CONFORMANCE_SUBJECTS } from "../support/conformance_subjects.ts";
import { runAgent, runDecrypt } from "../support/programs.ts";

for (const family of ENGINES) {
  Deno.test(`conformance: ${family.title}`, async (t) => {
    const subject = CONFORMANCE_SUBJECTS[family.family];
    assert(subject, `no conformance subject for the ${family.family} family`);
    await using dir = await tempDir(`backupy-conformance-${family.family}-`);
    await using source = await subject.source(dir.path);
    const out = join(dir.path, "backup.enc");
    const key = join(dir.path, "backup.key");

    await t.step("backup", async () => {
      const made = await runAgent(
        ["backup", "--target", source.url, "--out", out, "--generate-key", key],
        source.env,
      );
      assertEquals(made.code, 0, made.stderr);
      assertStringIncludes(made.stderr, `manifest: ${out}.manifest`);
    });

    await t.step("decrypt: the family's own format", async () => {
      const plain = join(dir.path, "backup.dump");
      const decrypted = await runDecrypt(["--key-file", key, "--in", out, "--out", plain]);
      assertEquals(decrypted.code, 0, decrypted.stderr);
      using file = await Deno.open(plain);
      const head = new Uint8Array(64);
      const n = (await file.read(head)) ?? 0;
      const formats = family.formats.filter(({ format }) =>
        format.checkHeader(head.subarray(0, n)) === null
      );
      assertEquals(formats.length, 1, "the dump starts as one of the family's formats");
    });

    for (const level of ["structure", "manifest"]) {
      await t.step(`verify --level ${level}`, async () => {
        const verified = await runAgent([
          "verify",
          "--in",
          out,
          "--key-file",
          key,
          "--level",
          level,
        ]);
        assertEquals(verified.code, 0, verified.stderr);
        assertStringIncludes(verified.stderr, `level ${level} proved`);
      });
    }

    await t.step(
      family.manualRestore
        ? "restore: refused, naming the engine's own tool"
        : "restore: equal to the source by the engine's own tools",
      async () => {
        await using target = await subject.restoreTarget(dir.path);
        const restored = await runAgent(
          ["restore", "--target", target.url, "--in", out, "--key-file", key],
          target.env,
        );
        if (family.manualRestore) {
          assertEquals(restored.code, 2, restored.stderr);
          assertStringIncludes(restored.stderr, family.manualRestore);
          return;
        }
        assertEquals(restored.code, 0, restored.stderr);
        assertEquals(await subject.picture(target), await subject.picture(source));
      },
    );

    await t.step(
      family.scratchRestore
        ? "verify --level restore"
        : "verify --level restore: refused without a container, naming what it takes",
      async () => {
        const args = ["verify", "--in", out, "--key-file", key, "--level", "restore"];
        await using scratch = family.scratchRestore === "file" || !family.scratchRestore
          ? undefined
          : await subject.scratch!(dir.path);
        if (scratch) args.push("--scratch", scratch.url);
        const verified = await runAgent(args);
        if (family.scratchRestore) {
          assertEquals(verified.code, 0, verified.stderr);
          assertStringIncludes(verified.stderr, "level restore proved");
          return;
        }
        assertEquals(verified.code, 1, verified.stderr);
        assertMatch(verified.stderr, /FAIL restore: the restore level supports .* backups/);
      },
    );
  });
}
