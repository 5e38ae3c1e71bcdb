/**
 * `deno task lint:workflows`: every GitHub Actions workflow checked against
 * the workflow schema with `@action-validator/cli` (npm). Exits 1 when one
 * is invalid, after printing what is wrong with it.
 */
const dir = ".github/workflows";
let failed = false;
for await (const entry of Deno.readDir(dir)) {
  if (!/\.ya?ml$/.test(entry.name)) continue;
  const path = `${dir}/${entry.name}`;
  const result = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", "--allow-env", "npm:@action-validator/cli@0.6.0", path],
  }).output();
  if (result.success) {
    console.log(`workflows: ${path} is valid`);
  } else {
    failed = true;
    console.error(
      new TextDecoder().decode(result.stdout) + new TextDecoder().decode(result.stderr),
    );
    console.error(`workflows: ${path} is not a valid workflow`);
  }
}
if (failed) Deno.exit(1);
