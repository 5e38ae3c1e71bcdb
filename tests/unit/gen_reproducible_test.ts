/**
 * gen/ is committed so the project builds without buf; this proves that
 * `deno task gen` run on the committed proto/ reproduces it byte for byte.
 */
import { assertEquals } from "../support/assert.ts";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { cp, mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";

const root = fileURLToPath(new URL("../../", import.meta.url));

async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort();
}

Deno.test("deno task gen reproduces the committed gen/ exactly", async () => {
  const work = await mkdtemp(join(tmpdir(), "backupy-gen-"));
  try {
    for (const name of ["proto", "deno.json", "deno.lock"]) {
      await cp(join(root, name), join(work, name), { recursive: true });
    }
    const output = await new Deno.Command(Deno.execPath(), {
      args: ["task", "--quiet", "gen"],
      cwd: work,
      stdout: "piped",
      stderr: "piped",
    }).output();
    assertEquals(output.code, 0, new TextDecoder().decode(output.stderr));

    const committed = await listFiles(join(root, "gen"));
    const generated = await listFiles(join(work, "gen"));
    assertEquals(generated, committed);
    assertEquals(committed.length, 4);
    for (const file of committed) {
      const want = await readFile(join(root, "gen", file), "utf8");
      const got = await readFile(join(work, "gen", file), "utf8");
      assertEquals(got, want, `gen/${file} differs from what deno task gen produces`);
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
});
