/**
 * `deno task compile`: builds `backupy-agent` and `backupy-decrypt` as static
 * binaries for linux amd64 and arm64 into `dist/`, each with the narrowest
 * permissions it needs baked in, and the commit it was built from.
 *
 *   deno task compile                                   all four into dist/
 *   deno task compile --program backupy-agent --target aarch64-unknown-linux-gnu --output F
 *
 * `deno compile` downloads the Deno runtime for the target (denort) from
 * dl.deno.land. Where that host cannot be reached (our build machines), this
 * says so in one line and exits 1 instead of printing a stack of causes.
 */
import { parseArgs } from "node:util";
import { AGENT_PERMISSIONS, DECRYPT_PERMISSIONS, V8_FLAGS } from "./program_flags.ts";

/** The two programs, the permissions baked into each, and files loaded at run time. */
const PROGRAMS = {
  "backupy-agent": {
    entry: "agent/main.ts",
    permissions: AGENT_PERMISSIONS,
    // Started with new Worker(): not an import, so named for the compiler.
    include: ["agent/engines/sqlite/sqlite_snapshot_worker.ts"],
  },
  // Offline by construction.
  "backupy-decrypt": { entry: "decrypt/main.ts", permissions: DECRYPT_PERMISSIONS, include: [] },
} as const;

/** Deno target triple -> the architecture name users see in file names. */
const TARGETS = {
  "x86_64-unknown-linux-gnu": "amd64",
  "aarch64-unknown-linux-gnu": "arm64",
} as const;

type ProgramName = keyof typeof PROGRAMS;
type Target = keyof typeof TARGETS;

const decoder = new TextDecoder();

/** True when deno compile failed because it could not fetch its runtime. */
function isRuntimeDownloadFailure(stderr: string): boolean {
  return /dl\.deno\.land|denort|error sending request/i.test(stderr);
}

function fail(message: string): never {
  console.error(`compile: ${message}`);
  Deno.exit(1);
}

/** The commit to bake in: BACKUPY_BUILD_COMMIT, else git's, else "dev". */
async function buildCommit(): Promise<string> {
  const given = Deno.env.get("BACKUPY_BUILD_COMMIT");
  if (given) return given;
  try {
    const git = await new Deno.Command("git", {
      args: ["rev-parse", "--short=12", "HEAD"],
      stdout: "piped",
      stderr: "null",
    }).output();
    if (git.success) return decoder.decode(git.stdout).trim();
  } catch {
    // No git here (a container build without .git).
  }
  return "dev";
}

const { values } = parseArgs({
  args: Deno.args,
  options: {
    program: { type: "string" },
    target: { type: "string" },
    output: { type: "string" },
  },
  strict: true,
});
if (values.program && !(values.program in PROGRAMS)) {
  fail(`--program must be one of ${Object.keys(PROGRAMS).join(", ")}`);
}
if (values.target && !(values.target in TARGETS)) {
  fail(`--target must be one of ${Object.keys(TARGETS).join(", ")}`);
}
if (values.output && (!values.program || !values.target)) {
  fail("--output needs --program and --target");
}
const programs = values.program
  ? [values.program as ProgramName]
  : Object.keys(PROGRAMS) as ProgramName[];
const targets = values.target ? [values.target as Target] : Object.keys(TARGETS) as Target[];

// The commit travels in an env file the compiler embeds in the binary.
await Deno.mkdir("dist", { recursive: true });
const envFile = "dist/build.env";
await Deno.writeTextFile(envFile, `BACKUPY_BUILD_COMMIT=${await buildCommit()}\n`);

for (const name of programs) {
  const program = PROGRAMS[name];
  for (const target of targets) {
    const output = values.output ?? `dist/${name}-linux-${TARGETS[target]}`;
    const result = await new Deno.Command(Deno.execPath(), {
      args: [
        "compile",
        "--quiet",
        "--no-prompt",
        "--frozen",
        V8_FLAGS,
        ...program.permissions,
        `--env-file=${envFile}`,
        ...program.include.flatMap((file) => ["--include", file]),
        "--target",
        target,
        "--output",
        output,
        program.entry,
      ],
      stdout: "inherit",
      stderr: "piped",
    }).output();
    const stderr = decoder.decode(result.stderr);
    if (!result.success) {
      if (isRuntimeDownloadFailure(stderr)) {
        fail(
          `deno compile must download the Deno runtime for ${target} from dl.deno.land, which this machine cannot reach; no binary was built`,
        );
      }
      console.error(stderr.trimEnd());
      fail(`building ${output} failed`);
    }
    console.log(`compile: built ${output}`);
  }
}
