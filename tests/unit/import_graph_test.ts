/**
 * What the compiled programs carry (docs/agent.md section 12, issue 11): their
 * import graphs hold only our files, npm packages and node: built-ins - no
 * JSR, no module fetched from a URL at run time - no npm package in them
 * ships a native addon (a `.node` file), and none of our code opens a
 * native library (FFI). The decrypt CLI needs no npm package at all.
 */
import { join } from "node:path";
import { assert, assertEquals } from "../support/assert.ts";
import { ROOT } from "../support/programs.ts";

interface Info {
  modules: {
    kind?: string;
    specifier: string;
    npmPackage?: string;
    dependencies?: { code?: { specifier: string }; isDynamic?: boolean }[];
  }[];
  redirects: Record<string, string>;
  npmPackages: Record<string, { dependencies: string[]; localPath?: string }>;
}

async function info(entry: string): Promise<Info> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", entry],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert(out.success, new TextDecoder().decode(out.stderr));
  return JSON.parse(new TextDecoder().decode(out.stdout));
}

/** Every npm package the graph reaches, dependencies included. */
function npmClosure(graph: Info): string[] {
  const seen = new Set<string>();
  const queue = graph.modules.flatMap((m) => (m.npmPackage ? [m.npmPackage] : []));
  while (queue.length) {
    const id = queue.pop()!;
    if (seen.has(id)) continue;
    seen.add(id);
    queue.push(...(graph.npmPackages[id]?.dependencies ?? []));
  }
  return [...seen].sort();
}

async function nativeAddons(dir: string, depth = 0): Promise<string[]> {
  const found: string[] = [];
  if (depth > 8) return found;
  for await (const entry of Deno.readDir(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory && entry.name !== "node_modules") {
      found.push(...await nativeAddons(path, depth + 1));
    } else if (entry.isFile && entry.name.endsWith(".node")) found.push(path);
  }
  return found;
}

for (
  const [program, entry] of [["backupy-agent", "agent/main.ts"], [
    "backupy-decrypt",
    "decrypt/main.ts",
  ]]
) {
  Deno.test(`${program}: only local files, npm packages and node: built-ins; no native addon`, async () => {
    const graph = await info(entry);
    const schemes = new Set(graph.modules.map((m) => m.specifier.split(":")[0]));
    for (const scheme of schemes) {
      assert(["file", "npm", "node"].includes(scheme), `a ${scheme}: module`);
    }
    const packages = npmClosure(graph);
    if (program === "backupy-decrypt") assertEquals(packages, [], "decrypt needs no npm package");
    for (const id of packages) {
      const local = graph.npmPackages[id]?.localPath;
      assert(local, `${id} is in the npm cache`);
      assertEquals(await nativeAddons(local), [], `${id} ships a native addon`);
    }
  });
}

Deno.test("no FFI in our code", async () => {
  for (const dir of ["agent", "decrypt"]) {
    const walk = async (path: string): Promise<void> => {
      for await (const entry of Deno.readDir(path)) {
        const child = join(path, entry.name);
        if (entry.isDirectory) await walk(child);
        else if (child.endsWith(".ts")) {
          const text = await Deno.readTextFile(child);
          assert(!/Deno\.dlopen|UnsafePointer|UnsafeCallback/.test(text), `${child} uses FFI`);
        }
      }
    };
    await walk(join(ROOT, dir));
  }
});

/**
 * The npm packages a program loads before it does anything: the modules it
 * reaches through static imports only (dynamic imports load when used).
 */
function staticNpmPackages(graph: Info, root: string): string[] {
  const byName = new Map(graph.modules.map((m) => [m.specifier, m]));
  const seen = new Set<string>();
  const packages = new Set<string>();
  const queue = [root];
  while (queue.length) {
    let specifier = queue.pop()!;
    specifier = graph.redirects[specifier] ?? specifier;
    if (seen.has(specifier)) continue;
    seen.add(specifier);
    const module = byName.get(specifier);
    if (specifier.startsWith("npm:")) {
      packages.add(specifier.replace(/^npm:\/?/, "").replace(/(?<=.)@.*$/, ""));
      continue;
    }
    for (const dependency of module?.dependencies ?? []) {
      if (!dependency.isDynamic && dependency.code) queue.push(dependency.code.specifier);
    }
  }
  return [...packages].sort();
}

Deno.test("drivers load when used: the agent's static graph, and the service's, have no database driver, Docker client or BSON", async () => {
  // main.ts loads a command's code when it runs; the service (`run`) is what an idle agent holds.
  for (const entry of ["agent/main.ts", "agent/service.ts"]) {
    const graph = await info(entry);
    const root = graph.modules.find((m) => m.specifier.endsWith(`/${entry}`))!.specifier;
    const loaded = staticNpmPackages(graph, root);
    for (const lazy of ["postgres", "mysql2", "mongodb", "ioredis", "dockerode", "bson"]) {
      assert(!loaded.includes(lazy), `${entry}: ${lazy} is imported statically: ${loaded}`);
    }
    // What an idle agent does need is there (the check sees npm packages at all).
    if (entry === "agent/service.ts") assert(loaded.includes("prom-client"), loaded.join(", "));
  }
});
