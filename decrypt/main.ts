/**
 * `backupy-decrypt`: offline, streaming decryption of a Backupy backup.
 *
 * Exit codes: 0 success, 1 any runtime failure (token, I/O, authentication,
 * checksum, decompression), 2 usage error; 130/143 when interrupted.
 *
 * @module
 */
import { resolve } from "node:path";
import { parseFlags } from "./cli_flags.ts";
import { fileSink } from "./file_sink.ts";
import { fileSource } from "./file_source.ts";
import { decryptBackup, type DecryptBackupResult } from "./decrypt_backup.ts";
import { importDek } from "./dek.ts";
import { BackupyError, ChecksumMismatchError, UsageError } from "./errors.ts";
import { formatInspectReport, inspectBackup } from "./inspect_backup.ts";
import { ProgressLine } from "./progress_line.ts";
import { resolveKeyMaterial } from "./key_material.ts";
import { SafeOutputFile } from "./safe_output_file.ts";
import { VERSION } from "./version.ts";

const USAGE = `backupy-decrypt ${VERSION}: decrypt a Backupy backup offline

Usage:
  backupy-decrypt [decrypt] (--token JWT | --token-file F | --key-file K [--sha256 HEX])
                  [--in FILE|-] --out FILE|- [options]
  backupy-decrypt verify  (--token JWT | --token-file F | --key-file K [--sha256 HEX]) [--in FILE|-]
  backupy-decrypt inspect [--token JWT | --token-file F | --key-file K] [--in FILE|-]

Modes:
  decrypt (default)   authenticate, decrypt and decompress to --out
  verify              do every check of decrypt, write nothing
  inspect             print the file's frames, sizes, terminator and trailing bytes;
                      with a key also authenticate and name the compression

Key (one of):
  --token JWT         the decryption token from the control plane
                      (POST /v1/runs/:id/decryption-token)
  --token-file F      read the token from F (trailing whitespace ignored)
  --key-file K        the raw DEK instead of a token: 32 bytes, 64 hex chars or base64
                      (files made by backupy-agent backup --generate-key)
  --sha256 HEX        with --key-file: the SHA-256 of the whole encrypted file

Input and output:
  --in FILE           the encrypted backup; "-" or absent: standard input
  --out FILE          where the plaintext goes; "-": standard output (for piping into
                      psql, pg_restore, mysql, mongorestore --archive, ...). A file is
                      written to a temporary file beside it and renamed into place only
                      after every check passed; on failure nothing is left behind and an
                      existing FILE is untouched.

Options:
  --verify-sha256     check the whole-file SHA-256 from the token or --sha256 (default
                      true; --verify-sha256=false, --no-verify-sha256 to turn it off)
  --skip-decompress   write the decrypted bytes as they are (backups made with
                      compression "none", or to decompress yourself)
  --allow-expired     accept an expired token (its key stays valid)
  -q, --quiet         no progress line and no final OK line
  --json              the result as one JSON object on stdout instead of the OK line
                      (not with --out -)
  --version           print the version
  -h, --help          this help

Security notes:
  The token's signature cannot be checked offline: the server signs it with a secret
  that never leaves the server. This tool checks the token's claims, authenticates
  every frame with AES-256-GCM and, by default, the whole file's SHA-256, which is what
  detects frames that were reordered, dropped or cut off at a frame boundary.
  The compiled binary has no network permission at all.

Exit codes: 0 success, 1 failure (nothing written), 2 usage error, 130/143 interrupted.
`;

const FLAGS = {
  token: { type: "string" },
  "token-file": { type: "string" },
  "key-file": { type: "string" },
  sha256: { type: "string" },
  in: { type: "string" },
  out: { type: "string" },
  "verify-sha256": { type: "boolean", default: true },
  "skip-decompress": { type: "boolean", default: false },
  "allow-expired": { type: "boolean", default: false },
  quiet: { type: "boolean", short: "q", default: false },
  json: { type: "boolean", default: false },
  version: { type: "boolean", default: false },
  help: { type: "boolean", short: "h", default: false },
} as const;

const MODES = ["decrypt", "verify", "inspect"] as const;
type Mode = typeof MODES[number];

/** Everything the command line asked for, validated. */
interface Request {
  mode: Mode;
  token?: string;
  tokenFile?: string;
  keyFile?: string;
  sha256?: string;
  input?: string;
  output?: string;
  verifySha256: boolean;
  skipDecompress: boolean;
  allowExpired: boolean;
  quiet: boolean;
  json: boolean;
}

function parseRequest(args: string[]): Request | "help" | "version" {
  const { values, positionals } = parseFlags(args, FLAGS);
  if (values.help) return "help";
  if (values.version) return "version";
  let mode: Mode = "decrypt";
  if (positionals.length > 0 && (MODES as readonly string[]).includes(positionals[0])) {
    mode = positionals.shift() as Mode;
  }
  if (positionals.length > 0) {
    throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
  }
  const str = (name: string) => values[name] as string | undefined;
  const request: Request = {
    mode,
    token: str("token"),
    tokenFile: str("token-file"),
    keyFile: str("key-file"),
    sha256: str("sha256"),
    input: str("in"),
    output: str("out"),
    verifySha256: values["verify-sha256"] as boolean,
    skipDecompress: values["skip-decompress"] as boolean,
    allowExpired: values["allow-expired"] as boolean,
    quiet: (values.quiet as boolean) || (values.json as boolean),
    json: values.json as boolean,
  };
  if (request.json && request.output === "-") {
    throw new UsageError("--json prints on standard output, which --out - already uses");
  }
  const keySources = [request.token, request.tokenFile, request.keyFile].filter((v) =>
    v !== undefined
  );
  if (keySources.length > 1) {
    throw new UsageError("give only one of --token, --token-file and --key-file");
  }
  if (keySources.length === 0 && mode !== "inspect") {
    throw new UsageError("a key is needed: --token, --token-file or --key-file");
  }
  if (keySources.some((v) => v === "")) throw new UsageError("the key flag has an empty value");
  if (request.sha256 !== undefined && !/^[0-9a-fA-F]{64}$/.test(request.sha256)) {
    throw new UsageError("--sha256 must be 64 hex characters");
  }
  if (mode === "decrypt" && request.output === undefined) {
    throw new UsageError("--out is required (a file, or - for standard output)");
  }
  if (mode !== "decrypt" && request.output !== undefined) {
    throw new UsageError(`${mode} writes nothing: --out is not allowed`);
  }
  if (request.input === "") throw new UsageError("--in has an empty value");
  if (request.output === "") throw new UsageError("--out has an empty value");
  return request;
}

async function sameFile(a: string, b: string): Promise<boolean> {
  if (resolve(a) === resolve(b)) return true;
  try {
    const [sa, sb] = await Promise.all([Deno.stat(a), Deno.stat(b)]);
    return sa.dev === sb.dev && sa.ino !== null && sa.ino === sb.ino;
  } catch {
    return false;
  }
}

/** Opens the input: a file (with its size, for progress) or standard input. */
async function openInput(path: string | undefined): Promise<{
  readable: ReadableStream<Uint8Array>;
  size?: number;
}> {
  if (path === undefined || path === "-") return { readable: fileSource(Deno.stdin) };
  try {
    const file = await Deno.open(path, { read: true });
    const info = await file.stat();
    if (info.isDirectory) {
      file.close();
      throw new BackupyError(`input ${path} is a directory`);
    }
    // Pipes and process substitutions have no size; progress then shows no total.
    return { readable: fileSource(file), size: info.isFile ? info.size : undefined };
  } catch (error) {
    if (error instanceof BackupyError) throw error;
    throw new BackupyError(`cannot open input ${path}: ${(error as Error).message}`);
  }
}

/** The streams' abort reason when a signal arrives. */
class Interrupted extends Error {
  constructor(readonly exitCode: number, signal: string) {
    super(`interrupted by ${signal}`);
  }
}

function onSignals(abort: AbortController): () => void {
  const handlers: [Deno.Signal, () => void][] = [
    ["SIGINT", () => abort.abort(new Interrupted(130, "SIGINT"))],
    ["SIGTERM", () => abort.abort(new Interrupted(143, "SIGTERM"))],
  ];
  for (const [signal, handler] of handlers) Deno.addSignalListener(signal, handler);
  return () => {
    for (const [signal, handler] of handlers) Deno.removeSignalListener(signal, handler);
  };
}

async function run(request: Request, stderr: (line: string) => void): Promise<number> {
  const say = (line: string) => {
    if (!request.quiet) stderr(line);
  };
  if (
    request.input !== undefined && request.input !== "-" && request.output !== undefined &&
    request.output !== "-" && await sameFile(request.input, request.output)
  ) {
    throw new UsageError("--in and --out name the same file: that would destroy the backup");
  }

  const material = request.mode === "inspect" && !request.token && !request.tokenFile &&
      !request.keyFile
    ? undefined
    : await resolveKeyMaterial(request, stderr);
  const key = material ? await importDek(material.dek) : undefined;

  if (request.mode === "inspect") {
    const input = await openInput(request.input);
    const report = await inspectBackup(input.readable, key);
    for (const line of formatInspectReport(report)) console.log(line);
    const ok = report.problem === undefined &&
      (material?.sha256 === undefined || material.sha256 === report.sha256);
    if (material?.sha256 !== undefined && material.sha256 !== report.sha256) {
      console.log(`sha256 mismatch:  expected ${material.sha256}`);
    }
    return ok ? 0 : 1;
  }

  let expectedSha256: string | undefined;
  if (!request.verifySha256) {
    stderr(
      "warning: SHA-256 verification is off: frames reordered, dropped or cut off at a frame " +
        "boundary would not be detected",
    );
  } else if (material!.sha256 === undefined) {
    stderr(
      "warning: no SHA-256 to check (the token has none; with --key-file pass --sha256): " +
        "frames reordered, dropped or cut off at a frame boundary would not be detected",
    );
  } else {
    expectedSha256 = material!.sha256;
  }

  const abort = new AbortController();
  const removeSignals = onSignals(abort);
  const started = performance.now();
  let hasher: { bytes: number } = { bytes: 0 };
  let progressLine: ProgressLine | undefined;
  try {
    const input = await openInput(request.input);
    if (!request.quiet && Deno.stderr.isTerminal()) {
      progressLine = new ProgressLine(() => hasher.bytes, input.size);
    }
    const options = {
      key: key!,
      expectedSha256,
      decompress: !request.skipDecompress,
      signal: abort.signal,
      onStart: (started: { bytes: number }) => {
        hasher = started;
      },
    };
    const runLabel = material!.runId ? ` (run ${material!.runId})` : "";

    const report = (result: DecryptBackupResult, out?: string) =>
      console.log(JSON.stringify({
        ok: true,
        mode: request.mode,
        ...(out ? { out } : {}),
        encrypted_bytes: result.encryptedBytes,
        output_bytes: result.outputBytes,
        frames: result.frames,
        sha256: result.sha256,
        sha256_checked: expectedSha256 !== undefined,
        compression: result.compression,
        ...(material!.runId ? { run_id: material!.runId } : {}),
        duration_ms: Math.round(performance.now() - started),
      }));

    if (request.mode === "verify") {
      const result = await decryptBackup(input.readable, new WritableStream(), options);
      progressLine?.stop();
      if (request.json) report(result);
      say(
        `OK: verified ${result.encryptedBytes} bytes in ${result.frames} frames${runLabel}, ` +
          `sha256 ${result.sha256}${expectedSha256 ? " (matches)" : ""}, ` +
          `compression ${describeCompression(result, request.skipDecompress)}`,
      );
      return 0;
    }

    if (request.output === "-") {
      let result: DecryptBackupResult;
      try {
        result = await decryptBackup(input.readable, fileSink(Deno.stdout), options);
      } catch (error) {
        if (error instanceof ChecksumMismatchError) {
          throw new ChecksumMismatchError(
            `${error.message}. The output already written to standard output is not trustworthy: discard it`,
          );
        }
        throw error;
      }
      progressLine?.stop();
      say(`OK: decrypted ${result.outputBytes} bytes${runLabel} to standard output`);
      return 0;
    }

    await using output = await SafeOutputFile.create(request.output!);
    const result = await decryptBackup(input.readable, output.writable, options);
    await output.commit();
    progressLine?.stop();
    if (request.json) report(result, resolve(request.output!));
    say(`OK: decrypted ${result.outputBytes} bytes${runLabel} to ${request.output}`);
    return 0;
  } catch (error) {
    progressLine?.stop();
    if (abort.signal.aborted && abort.signal.reason instanceof Interrupted) {
      throw abort.signal.reason;
    }
    throw error;
  } finally {
    removeSignals();
  }
}

function describeCompression(result: DecryptBackupResult, skipped: boolean): string {
  if (skipped) return "not checked (--skip-decompress)";
  return result.compression === "none" ? "none (empty backup)" : result.compression;
}

/** Runs the CLI with `args`; resolves to the exit code. */
export async function main(args: string[]): Promise<number> {
  const stderr = (line: string) => console.error(line);
  const json = args.includes("--json");
  const failed = (message: string) => {
    if (json) console.log(JSON.stringify({ ok: false, error: message }));
  };
  try {
    const request = parseRequest(args);
    if (request === "help") {
      console.log(USAGE);
      return 0;
    }
    if (request === "version") {
      console.log(`backupy-decrypt ${VERSION}`);
      return 0;
    }
    return await run(request, stderr);
  } catch (error) {
    if (error instanceof Interrupted) {
      stderr(`backupy-decrypt: ${error.message}; nothing was written`);
      failed(error.message);
      return error.exitCode;
    }
    if (error instanceof UsageError) {
      stderr(`backupy-decrypt: ${error.message}\nRun backupy-decrypt --help for usage.`);
      return 2;
    }
    if (error instanceof BackupyError) {
      stderr(`error: ${error.message}`);
      failed(error.message);
      return 1;
    }
    stderr(`error: unexpected failure: ${(error as Error)?.stack ?? String(error)}`);
    return 1;
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
