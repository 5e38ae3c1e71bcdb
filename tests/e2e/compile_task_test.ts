/**
 * `deno task compile`: builds both programs for both architectures, or -
 * where the Deno runtime cannot be downloaded, as on our build machines -
 * says so in one line and exits non-zero.
 */
import { assert, assertEquals, assertMatch } from "../support/assert.ts";
import { ROOT } from "../support/programs.ts";

Deno.test("deno task compile builds four binaries or explains in one line why not", async () => {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["task", "--quiet", "compile"],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(output.stderr).trim();
  if (output.success) {
    for (const name of ["backupy-agent", "backupy-decrypt"]) {
      for (const arch of ["amd64", "arm64"]) {
        assert((await Deno.stat(`${ROOT}dist/${name}-linux-${arch}`)).isFile);
      }
    }
    return;
  }
  assertEquals(output.code, 1);
  const lines = stderr.split("\n");
  assertEquals(lines.length, 1, stderr);
  assertMatch(
    lines[0],
    /^compile: deno compile must download the Deno runtime for \S+ from dl\.deno\.land, which this machine cannot reach; no binary was built$/,
  );
});
