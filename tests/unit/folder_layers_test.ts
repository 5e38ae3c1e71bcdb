/**
 * Folders import downwards only (docs in README "How the code is laid
 * out"): each folder of agent/ has a layer, and a file may import from its
 * own folder or from a folder of a lower layer - never from one above, never
 * from another of its own layer, so no two folders import each other. The
 * engine families (engines/<family>/) share a layer: one engine never
 * reaches into another; what several use lives in engines/shared/. decrypt/
 * owns the v1 format and imports nothing of agent/.
 */
import { dirname, join, normalize, relative } from "node:path";
import { assertEquals } from "../support/assert.ts";
import { ROOT } from "../support/programs.ts";

/** Lowest first. Every folder of agent/ (and decrypt/) must be listed. */
const LAYERS: readonly (readonly string[])[] = [
  ["decrypt"],
  ["agent/bytes"],
  ["agent/log"],
  ["agent/metrics", "agent/host"],
  ["agent/config"],
  ["agent/manifest"],
  ["agent/engines/shared"],
  // PostgreSQL's dump: the object graph, then the object kinds that fill it.
  ["agent/engines/postgres/dump"],
  ["agent/engines/postgres/dump/kinds"],
  [
    "agent/engines/postgres",
    "agent/engines/mysql",
    "agent/engines/mongodb",
    "agent/engines/redis",
    "agent/engines/sqlite",
  ],
  ["agent/engines"],
  ["agent/docker"],
  ["agent/state", "agent/pipeline"],
  ["agent/verify"],
  ["agent/local", "agent/control", "agent/health"],
  ["agent/runs", "agent/update"],
  ["agent/commands"],
  ["agent"],
];

/** The folder a file belongs to, as LAYERS names it. */
function folderOf(path: string): string {
  return dirname(path);
}

function layerOf(folder: string): number {
  return LAYERS.findIndex((layer) => layer.includes(folder));
}

/** Relative specifiers a module imports (static and dynamic). */
export function importsOf(text: string): string[] {
  return [...text.matchAll(/(?:from|import)\s*\(?\s*["'](\.{1,2}\/[^"']+)["']/g)].map((m) => m[1]);
}

async function sources(dir: string): Promise<string[]> {
  const found: string[] = [];
  for await (const entry of Deno.readDir(join(ROOT, dir))) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) found.push(...await sources(path));
    else if (entry.name.endsWith(".ts")) found.push(path);
  }
  return found;
}

Deno.test("importsOf finds static and dynamic relative imports", () => {
  assertEquals(
    importsOf(`import { a } from "./a.ts";\nexport { b } from "../b.ts";\nawait import("./c.ts");
import x from "npm:y";`),
    ["./a.ts", "../b.ts", "./c.ts"],
  );
});

Deno.test("every folder has a layer, and every import goes to its own folder or a lower layer", async () => {
  const files = [...await sources("agent"), ...await sources("decrypt")];
  const unlisted = [...new Set(files.map(folderOf))].filter((f) => layerOf(f) < 0);
  assertEquals(unlisted, [], "folders missing from LAYERS");
  const upward: string[] = [];
  for (const file of files) {
    const from = folderOf(file);
    for (const specifier of importsOf(await Deno.readTextFile(join(ROOT, file)))) {
      const target = normalize(join(dirname(file), specifier));
      const to = folderOf(target);
      if (to === from) continue;
      if (relative("decrypt", target).startsWith("..") && from === "decrypt") {
        upward.push(`${file} -> ${target} (decrypt imports nothing of agent/)`);
      } else if (!(layerOf(to) < layerOf(from))) {
        upward.push(`${file} -> ${target}`);
      }
    }
  }
  assertEquals(upward, []);
});

/** The engine family folders (engines/<family>/, not shared/). */
function isFamilyFolder(folder: string): boolean {
  return folder.startsWith("agent/engines/") && folder !== "agent/engines/shared";
}

Deno.test("outside engines/, nothing reaches into an engine family's folder: only the registry does", async () => {
  const reaching: string[] = [];
  for (const file of await sources("agent")) {
    if (folderOf(file).startsWith("agent/engines")) continue;
    for (const specifier of importsOf(await Deno.readTextFile(join(ROOT, file)))) {
      const target = normalize(join(dirname(file), specifier));
      if (isFamilyFolder(folderOf(target))) reaching.push(`${file} -> ${target}`);
    }
  }
  assertEquals(reaching, []);
});
