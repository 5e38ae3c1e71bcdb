/**
 * Our Redis backup of datasets nobody here wrote, held to Redis itself: the
 * snapshots in Redis's own test assets (`tests/assets/*.rdb`: old
 * encodings, ziplists, zipmaps, intsets, scripts), and the random dataset
 * Redis's test suite builds with `createComplexDataset`
 * (`tests/support/util.tcl`, run with tclsh). Each is loaded into a private
 * server, backed up by the agent, restored by the agent into a fresh server,
 * and the copy must have the source's key count and `DEBUG DIGEST` (Redis's
 * own digest of every key, value and type).
 *
 * Runs only when BACKUPY_TEST_REDIS_SOURCE names a Redis source tree (beside
 * the project, never committed). A snapshot the server here cannot load (a
 * newer RDB version, a corrupt one) is left out, and the step says so.
 */
import { join } from "node:path";
import { tempDir } from "../support/agent_fixtures.ts";
import { assertEquals } from "../support/assert.ts";
import { runAgent } from "../support/programs.ts";
import { type PrivateRedis, startRedis } from "../support/redis_server.ts";

const source = Deno.env.get("BACKUPY_TEST_REDIS_SOURCE");
/** Operations of createComplexDataset: about half of them leave a key behind. */
const COMPLEX_OPS = Number(Deno.env.get("BACKUPY_TEST_REDIS_COMPLEX_OPS") ?? 50_000);
const DEBUG = ["--enable-debug-command", "yes"];

/** Backs `from` up with the agent and restores it into a fresh server; the copy's key count and digest. */
async function roundTrip(from: PrivateRedis, dir: string): Promise<[string, string]> {
  const [out, key] = [join(dir, "backup.enc"), join(dir, "backup.key")];
  const made = await runAgent([
    "backup",
    "--target",
    from.url,
    "--out",
    out,
    "--generate-key",
    key,
  ]);
  assertEquals(made.code, 0, made.stderr);
  await Deno.mkdir(join(dir, "copy"));
  await using copy = await startRedis(join(dir, "copy"), DEBUG);
  const restored = await runAgent([
    "restore",
    "--target",
    copy.url,
    "--in",
    out,
    "--key-file",
    key,
  ]);
  assertEquals(restored.code, 0, restored.stderr);
  return [await copy.cli("DBSIZE"), await copy.cli("DEBUG", "DIGEST")];
}

/** The files under tests/assets that are snapshots. */
function assetSnapshots(): string[] {
  const assets = join(source!, "tests", "assets");
  return [...Deno.readDirSync(assets)]
    .filter((e) => e.isFile && e.name.endsWith(".rdb"))
    .map((e) => join(assets, e.name))
    .sort();
}

/** Whether this machine's Redis can load `file` (redis-check-rdb says OK). */
async function loadable(file: string): Promise<boolean> {
  const checked = await new Deno.Command("redis-check-rdb", {
    args: [file],
    stdout: "null",
    stderr: "null",
  }).output();
  return checked.success;
}

Deno.test({
  name: "Redis's own test snapshots: backed up and restored, the same keys and DEBUG DIGEST",
  ignore: !source,
  fn: async (t) => {
    for (const file of assetSnapshots()) {
      const name = file.split("/").pop()!;
      const ok = await loadable(file);
      await t.step({
        name: ok ? name : `${name} (redis-check-rdb refuses it here)`,
        ignore: !ok,
        fn: async () => {
          await using dir = await tempDir("backupy-redis-corpus-");
          await Deno.copyFile(file, join(dir.path, "corpus.rdb"));
          await using server = await startRedis(dir.path, [
            ...DEBUG,
            "--dbfilename",
            "corpus.rdb",
          ]);
          const expected = [await server.cli("DBSIZE"), await server.cli("DEBUG", "DIGEST")];
          assertEquals(await roundTrip(server, dir.path), expected);
        },
      });
    }
  },
});

Deno.test({
  name: "Redis's createComplexDataset: backed up and restored, the same keys and DEBUG DIGEST",
  ignore: !source,
  fn: async () => {
    await using dir = await tempDir("backupy-redis-complex-");
    await using server = await startRedis(dir.path, DEBUG);
    const support = join(source!, "tests", "support");
    // The suite's own client and generator, driven by a few lines of Tcl.
    const driver = [
      "set ::tls 0",
      `source {${join(support, "redis.tcl")}}`,
      `source {${join(support, "util.tcl")}}`,
      `set client [redis 127.0.0.1 ${server.port}]`,
      "proc r {args} { global client; $client {*}$args }",
      "expr srand(20261207)",
      `createComplexDataset r ${COMPLEX_OPS}`,
    ].join("\n");
    await Deno.writeTextFile(join(dir.path, "generate.tcl"), driver);
    const generated = await new Deno.Command("tclsh", {
      args: [join(dir.path, "generate.tcl")],
      stdout: "null",
      stderr: "piped",
    }).output();
    assertEquals(generated.code, 0, new TextDecoder().decode(generated.stderr));
    const expected = [await server.cli("DBSIZE"), await server.cli("DEBUG", "DIGEST")];
    assertEquals(Number(expected[0]) > COMPLEX_OPS / 4, true, `only ${expected[0]} keys`);
    assertEquals(await roundTrip(server, dir.path), expected);
  },
});
