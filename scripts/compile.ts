/**
 * `deno task compile`: builds `backupy-agent` and `backupy-decrypt` as static
 * binaries for linux amd64 and arm64 into `dist/`, each with the narrowest
 * permissions it needs baked in.
 *
 * `deno compile` downloads the Deno runtime for the target (denort) from
 * dl.deno.land. Where that host cannot be reached (our build machines), this
 * says so in one line and exits 1 instead of printing a stack of causes.
 */
import { AGENT_PERMISSIONS, DECRYPT_PERMISSIONS, V8_FLAGS } from "./program_flags.ts";

/** The two programs and the permissions baked into each. */
const programs = [
  { name: "backupy-agent", entry: "agent/main.ts", permissions: AGENT_PERMISSIONS },
  // Offline by construction.
  { name: "backupy-decrypt", entry: "decrypt/main.ts", permissions: DECRYPT_PERMISSIONS },
] as const;

/** Deno target triple -> the architecture name users see in file names. */
const targets = {
  "x86_64-unknown-linux-gnu": "amd64",
  "aarch64-unknown-linux-gnu": "arm64",
} as const;

const decoder = new TextDecoder();

/** True when deno compile failed because it could not fetch its runtime. */
function isRuntimeDownloadFailure(stderr: string): boolean {
  return /dl\.deno\.land|denort|error sending request/i.test(stderr);
}

await Deno.mkdir("dist", { recursive: true });
for (const program of programs) {
  for (const [target, arch] of Object.entries(targets)) {
    const output = `dist/${program.name}-linux-${arch}`;
    const result = await new Deno.Command(Deno.execPath(), {
      args: [
        "compile",
        "--quiet",
        "--no-prompt",
        V8_FLAGS,
        ...program.permissions,
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
        console.error(
          `compile: deno compile must download the Deno runtime for ${target} from dl.deno.land, which this machine cannot reach; no binary was built`,
        );
      } else {
        console.error(stderr.trimEnd());
        console.error(`compile: building ${output} failed`);
      }
      Deno.exit(1);
    }
    console.log(`compile: built ${output}`);
  }
}
