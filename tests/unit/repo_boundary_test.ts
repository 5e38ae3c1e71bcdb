/**
 * A clone of the repository, alone in a folder, must pass its own tests:
 * no file we commit reaches outside the repository for what it reads. Every
 * relative path written in a source or script file (`new URL("../..",
 * import.meta.url)`, `"../x"` in a shell script) must resolve inside it.
 */
import { dirname, join, relative, resolve } from "node:path";
import { assertEquals } from "../support/assert.ts";
import { ROOT } from "../support/programs.ts";

/** Files whose relative paths are checked, and the folder each path is relative to. */
const CHECKED = /\.(ts|mjs|js|sh)$|^\.ci\/run$/;

async function trackedFiles(): Promise<string[]> {
  const out = await new Deno.Command("git", {
    args: ["ls-files", "-z"],
    cwd: ROOT,
    stdout: "piped",
  }).output();
  const names = new TextDecoder().decode(out.stdout).split("\0").filter(Boolean);
  // A clone without git metadata (an unpacked archive) still has the files on disk.
  return names.length ? names : await walk(ROOT, "");
}

async function walk(root: string, under: string): Promise<string[]> {
  const found: string[] = [];
  for await (const entry of Deno.readDir(join(root, under))) {
    if ([".git", "node_modules", "dist"].includes(entry.name)) continue;
    const path = under ? `${under}/${entry.name}` : entry.name;
    if (entry.isDirectory) found.push(...await walk(root, path));
    else if (entry.isFile) found.push(path);
  }
  return found;
}

/** Relative paths (starting with ../) quoted in `text`. */
export function relativePaths(text: string): string[] {
  return [...text.matchAll(/["'`]((?:\.\.\/)+[^"'`\s$]*)["'`]/g)].map((m) => m[1]);
}

Deno.test("relativePaths finds quoted ../ paths and nothing else", () => {
  // Built, not written: this file is itself checked.
  const up = "../".repeat(3) + "elsewhere/x";
  assertEquals(
    relativePaths(`new URL("${up}", u); import "./y.ts"; a = '../z'; b = "x/../y"`),
    [up, "../z"],
  );
});

Deno.test("no committed file reads outside the repository", async () => {
  const outside: string[] = [];
  for (const file of await trackedFiles()) {
    if (!CHECKED.test(file)) continue;
    const text = await Deno.readTextFile(join(ROOT, file));
    for (const path of relativePaths(text)) {
      const target = relative(ROOT, resolve(ROOT, dirname(file), path));
      if (target.startsWith("..")) outside.push(`${file}: ${path}`);
    }
    if (/\bshared\/(testdata|bench|spec)\b/.test(text)) outside.push(`${file}: names shared/`);
  }
  assertEquals(outside, []);
});

Deno.test("every docs/ page and section the code cites exists", async () => {
  const missing: string[] = [];
  const headings = new Map<string, Set<string>>();
  for (const file of await trackedFiles()) {
    if (!CHECKED.test(file)) continue;
    const text = await Deno.readTextFile(join(ROOT, file));
    for (const m of text.matchAll(/docs\/([a-z-]+\.md)(?: section (\d+))?/g)) {
      const [, page, section] = m;
      if (!headings.has(page)) {
        const doc = await Deno.readTextFile(join(ROOT, "docs", page)).catch(() => null);
        headings.set(
          page,
          new Set(doc === null ? [] : [...doc.matchAll(/^## (\d+)\./gm)].map((h) => h[1])),
        );
        if (doc === null) missing.push(`${file}: docs/${page}`);
      }
      if (section && !headings.get(page)!.has(section)) {
        missing.push(`${file}: docs/${page} section ${section}`);
      }
    }
  }
  assertEquals(missing, []);
});
