/**
 * `backupy-agent`: the Backupy database backup agent.
 *
 *   run (default)   the service: connect, register, take commands, run backups
 *   backup          one backup without a control plane (local mode)
 *   version         version, commit, Deno version, target
 *   health-check    exit 0 when the running agent is healthy
 *   dump-state      the state store as JSON (secrets sealed)
 *   discover        Docker discovery once, as a table or JSON
 *   verify          prove a backup is whole, without restoring it
 *
 * Exit codes: 0 success, 1 failure, 2 usage error.
 *
 * @module
 */
import { dirname, resolve } from "node:path";
import { type FlagSpec, parseFlags } from "../decrypt/cli_flags.ts";
import { BackupyError, UsageError } from "../decrypt/errors.ts";
import { VERSION } from "../decrypt/version.ts";
import { localDockerSocket } from "./docker/docker_socket.ts";
import { versionLine } from "./commands/version_command.ts";
import { loadAgentConfig } from "./config/agent_config.ts";
import { ConfigError } from "./config/config_error.ts";
import { ProgressLine } from "../decrypt/progress_line.ts";
import { Logger } from "./log/logger.ts";
import { usageText } from "./commands/usage_text.ts";

const USAGE = usageText(VERSION);

const COMMANDS = [
  "run",
  "backup",
  "restore",
  "version",
  "health-check",
  "dump-state",
  "discover",
  "verify",
  "manifest",
] as const;
type Command = typeof COMMANDS[number];

const FLAGS: Record<
  Command,
  Record<string, FlagSpec>
> = {
  run: { help: { type: "boolean", short: "h" } },
  backup: {
    help: { type: "boolean", short: "h" },
    target: { type: "string" },
    out: { type: "string" },
    "key-file": { type: "string" },
    "generate-key": { type: "string" },
    compression: { type: "string", default: "zstd" },
    "with-privileges": { type: "boolean", default: false },
    manifest: { type: "boolean", default: true },
    quiet: { type: "boolean", short: "q", default: false },
    json: { type: "boolean", default: false },
  },
  restore: {
    help: { type: "boolean", short: "h" },
    target: { type: "string" },
    in: { type: "string" },
    "key-file": { type: "string" },
    sha256: { type: "string" },
    "skip-decompress": { type: "boolean", default: false },
    clean: { type: "boolean", default: false },
    "single-transaction": { type: "boolean", default: true },
    replace: { type: "boolean" },
    drop: { type: "boolean" },
    rename: { type: "string", multiple: true },
    quiet: { type: "boolean", short: "q", default: false },
    json: { type: "boolean", default: false },
  },
  version: { help: { type: "boolean", short: "h" } },
  "health-check": { help: { type: "boolean", short: "h" } },
  "dump-state": { help: { type: "boolean", short: "h" }, "allow-secrets": { type: "boolean" } },
  discover: { help: { type: "boolean", short: "h" }, json: { type: "boolean", default: false } },
  manifest: {
    help: { type: "boolean", short: "h" },
    run: { type: "string" },
    out: { type: "string" },
    json: { type: "boolean", default: false },
  },
  verify: {
    help: { type: "boolean", short: "h" },
    in: { type: "string" },
    "key-file": { type: "string" },
    sha256: { type: "string" },
    token: { type: "string" },
    "token-file": { type: "string" },
    level: { type: "string", default: "structure" },
    manifest: { type: "string" },
    scratch: { type: "string" },
    "docker-image": { type: "string" },
    "allow-expired": { type: "boolean", default: false },
    json: { type: "boolean", default: false },
  },
};

const env = (name: string) => Deno.env.get(name);

/**
 * Runs `work` with a signal that SIGINT and SIGTERM abort, so that what it
 * holds (temporary files, a scratch database, a container) is released.
 */
async function interruptible<T>(work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const abort = new AbortController();
  const onSignal = () => abort.abort(new BackupyError("interrupted"));
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  try {
    return await work(abort.signal);
  } finally {
    Deno.removeSignalListener("SIGINT", onSignal);
    Deno.removeSignalListener("SIGTERM", onSignal);
  }
}

async function backupCommand(
  values: Flags,
): Promise<number> {
  const target = values.target as string | undefined;
  const out = values.out as string | undefined;
  if (!target) throw new UsageError("backup needs --target URL");
  if (!out) throw new UsageError("backup needs --out FILE (or - for standard output)");
  const compression = values.compression as string;
  if (!["zstd", "gzip", "none"].includes(compression)) {
    throw new UsageError(
      `--compression must be zstd, gzip or none, got ${JSON.stringify(compression)}`,
    );
  }
  const json = values.json === true;
  if (json && out === "-") {
    throw new UsageError("--json prints on standard output, which --out - already uses");
  }
  return await interruptible((signal) => backup(values, target, out, compression, signal));
}

/** The backup itself, once its flags are checked; prints the report. */
async function backup(
  values: Flags,
  target: string,
  out: string,
  compression: string,
  signal: AbortSignal,
): Promise<number> {
  const json = values.json === true;
  // Snapshots can be as big as the database: keep them beside the output,
  // not in a /tmp that may be memory.
  const tempDir = await Deno.makeTempDir({
    prefix: ".backupy-local-",
    dir: out === "-" ? undefined : dirname(resolve(out)),
  });
  let progress: ProgressLine | undefined;
  let dumped = 0;
  try {
    const { localBackup } = await import("./local/local_backup.ts");
    const result = await localBackup({
      target,
      out,
      keyFile: values["key-file"] as string | undefined,
      generateKey: values["generate-key"] as string | undefined,
      compression: compression as "zstd" | "gzip" | "none",
      includePrivileges: values["with-privileges"] === true,
      manifest: values.manifest !== false,
      tempDir,
      signal,
      watch: showProgress(values)
        ? {
          onStart: (estimate) => (progress = new ProgressLine(() => dumped, estimate)),
          onDumped: (bytes) => (dumped = bytes),
        }
        : undefined,
    });
    progress?.stop();
    const outArg = out === "-" ? "BACKUP_FILE" : out;
    const restore =
      `backupy-decrypt --key-file ${result.keyFile} --sha256 ${result.sha256} --in ${outArg} --out RESTORED_FILE`;
    if (json) {
      console.log(JSON.stringify({
        ok: true,
        engine_version: result.engineVersion,
        out: resolve(out),
        size_bytes: result.sizeBytes,
        sha256: result.sha256,
        dumped_bytes: result.dumpedBytes,
        duration_ms: result.durationMs,
        key_file: resolve(result.keyFile),
        compression,
        ...(result.manifestPath ? { manifest: resolve(result.manifestPath) } : {}),
        restore_command: restore,
      }));
    } else if (values.quiet !== true) {
      const where = out === "-" ? "standard output" : out;
      console.error(
        [
          `OK: backed up ${result.engineVersion} (${result.dumpedBytes} bytes dumped) to ${where} in ${
            (result.durationMs / 1000).toFixed(1)
          } s`,
          `size:    ${result.sizeBytes} bytes`,
          `sha256:  ${result.sha256}`,
          `key:     ${result.keyFile}`,
          ...(result.manifestPath
            ? [`manifest: ${result.manifestPath} (backupy-agent verify --level manifest)`]
            : []),
          `restore: ${restore}`,
        ].join("\n"),
      );
    }
    return 0;
  } finally {
    progress?.stop();
    await Deno.remove(tempDir, { recursive: true }).catch(() => {});
  }
}

/** A progress meter only for a person: stderr a terminal, neither --quiet nor --json. */
function showProgress(values: Flags): boolean {
  return values.quiet !== true && values.json !== true && Deno.stderr.isTerminal();
}

async function restoreCommand(
  values: Flags,
): Promise<number> {
  const target = values.target as string | undefined;
  const input = values.in as string | undefined;
  const keyFile = values["key-file"] as string | undefined;
  if (!target) throw new UsageError("restore needs --target URL");
  if (!input) throw new UsageError("restore needs --in FILE");
  if (!keyFile) throw new UsageError("restore needs --key-file F");
  const sha256 = values.sha256 as string | undefined;
  if (sha256 !== undefined && !/^[0-9a-fA-F]{64}$/.test(sha256)) {
    throw new UsageError("--sha256 must be 64 hex characters");
  }
  if (sha256 === undefined) {
    console.error(
      "warning: no --sha256: frames reordered, dropped or cut off at a frame boundary would not be detected",
    );
  }
  return await interruptible((signal) => restore(values, target, input, keyFile, sha256, signal));
}

/** The restore itself, once its flags are checked; prints the report. */
async function restore(
  values: Flags,
  target: string,
  input: string,
  keyFile: string,
  sha256: string | undefined,
  signal: AbortSignal,
): Promise<number> {
  const tempDir = await Deno.makeTempDir({ prefix: "backupy-restore-" });
  const started = performance.now();
  let progress: ProgressLine | undefined;
  try {
    const { localRestore } = await import("./local/local_restore.ts");
    const result = await localRestore({
      target,
      input,
      keyFile,
      sha256,
      skipDecompress: values["skip-decompress"] === true,
      restoreOptions: {
        clean: values.clean === true,
        singleTransaction: values["single-transaction"] !== false,
        replace: values.replace === true,
        drop: values.drop === true,
        rename: values.rename as string[] | undefined,
      },
      tempDir,
      signal,
      onPass: (pass, reader, size) => {
        progress?.stop();
        if (!showProgress(values)) return;
        console.error(pass === "verify" ? "verifying the backup..." : "restoring...");
        progress = new ProgressLine(() => reader.bytes, size || undefined);
      },
    });
    progress?.stop();
    if (values.json === true) {
      console.log(JSON.stringify({
        ok: true,
        in: resolve(input),
        restored: result.units,
        unit: result.unit,
        duration_ms: Math.round(performance.now() - started),
      }));
    } else if (values.quiet !== true) {
      console.error(`OK: restored ${result.units} ${result.unit} from ${input}`);
    }
    return 0;
  } finally {
    progress?.stop();
    await Deno.remove(tempDir, { recursive: true }).catch(() => {});
  }
}

type Flags = Record<string, string | boolean | string[] | undefined>;

async function healthCheckCommand(): Promise<number> {
  const { config } = loadAgentConfig(env, { requireKey: false });
  const { healthProblem } = await import("./health/health_problem.ts");
  const problem = await healthProblem(config.stateDir);
  if (problem) {
    console.error(`unhealthy: ${problem}`);
    return 1;
  }
  console.log("healthy");
  return 0;
}

async function dumpStateCommand(values: Flags): Promise<number> {
  const { config } = loadAgentConfig(env, { requireKey: values["allow-secrets"] === true });
  const { dumpState } = await import("./commands/dump_state_command.ts");
  const state = dumpState(config.stateDir, values["allow-secrets"] ? config.agentKey : undefined);
  console.log(JSON.stringify(state, (_, v) => typeof v === "bigint" ? v.toString() : v, 2));
  return 0;
}

async function verifyCommand(values: Flags): Promise<number> {
  const input = values.in as string | undefined;
  if (!input) throw new UsageError("verify needs --in FILE");
  // Loaded here: it brings format readers (BSON) the service never needs.
  const { formatVerifyReport, verifyBackup } = await import("./commands/verify_command.ts");
  // SIGINT/SIGTERM abort the check; a scratch database is still dropped.
  const report = await interruptible((signal) =>
    verifyBackup({
      input,
      level: values.level as string,
      manifest: values.manifest as string | undefined,
      scratch: values.scratch as string | undefined,
      dockerImage: values["docker-image"] as string | undefined,
      dockerSocket: localDockerSocket(env),
      keyFile: values["key-file"] as string | undefined,
      sha256: values.sha256 as string | undefined,
      token: values.token as string | undefined,
      tokenFile: values["token-file"] as string | undefined,
      allowExpired: values["allow-expired"] === true,
    }, signal)
  );
  if (values.json) console.log(JSON.stringify(report));
  else for (const line of formatVerifyReport(report, input)) console.error(line);
  return report.ok ? 0 : 1;
}

async function manifestCommand(values: Flags): Promise<number> {
  const { exportManifest, listManifests } = await import("./commands/manifest_command.ts");
  const runId = values.run as string | undefined;
  const out = values.out as string | undefined;
  if ((runId === undefined) !== (out === undefined)) {
    throw new UsageError("manifest: give --run ID and --out FILE together (or neither, to list)");
  }
  if (runId === undefined) {
    const { config } = loadAgentConfig(env, { requireKey: false });
    const kept = listManifests(config.stateDir);
    if (values.json) console.log(JSON.stringify(kept, null, 2));
    else if (kept.length === 0) console.error("no manifests kept");
    else {
      for (const m of kept) {
        console.log(`${m.run_id}  ${m.job_id}  ${m.created_at}  sha256 ${m.backup_sha256}`);
      }
    }
    return 0;
  }
  const { config } = loadAgentConfig(env, { requireKey: true });
  const made = await exportManifest(config.stateDir, config.agentKey!, runId, out!);
  if (values.json) console.log(JSON.stringify({ ok: true, out, ...made }));
  else console.error(`wrote the manifest of run ${runId} (job ${made.job_id}) to ${out}`);
  return 0;
}

async function discoverCommand(values: Flags): Promise<number> {
  const { discover, discoveryTable } = await import("./commands/discover_command.ts");
  const found = await discover(localDockerSocket(env));
  console.log(values.json ? JSON.stringify(found, null, 2) : discoveryTable(found));
  return 0;
}

/** The service, and after a verified self-update the supervision of the new binary. */
async function runCommand(): Promise<number> {
  const { config, warnings } = loadAgentConfig(env, { requireKey: true });
  const log = Logger.create(config.logLevel);
  for (const warning of warnings) log.warn(warning);
  const { runService } = await import("./service.ts");
  const { superviseUpdate } = await import("./update/self_update.ts");
  for (;;) {
    const exit = await runService(config, log);
    if (!exit.update) return exit.code;
    // The service stopped to hand over to a verified new binary.
    const outcome = await superviseUpdate(
      exit.update.handoff,
      Deno.args,
      config.stateDir,
      exit.update.healthTimeoutMs,
      log.child("update"),
    );
    if (outcome.kind === "exited") return outcome.code;
    // Rolled back: the previous binary is in place again; carry on as it.
  }
}

/** Each command's handler, given its parsed flags. */
const COMMAND_HANDLERS: Record<Command, (values: Flags) => Promise<number>> = {
  run: runCommand,
  backup: backupCommand,
  restore: restoreCommand,
  version: () => {
    console.log(versionLine());
    return Promise.resolve(0);
  },
  "health-check": healthCheckCommand,
  "dump-state": dumpStateCommand,
  verify: verifyCommand,
  manifest: manifestCommand,
  discover: discoverCommand,
};

/** Runs the CLI; resolves to the exit code. */
export async function main(args: string[]): Promise<number> {
  let command: Command = "run";
  let rest = args;
  if (args.length > 0 && !args[0].startsWith("-")) {
    if (!(COMMANDS as readonly string[]).includes(args[0])) {
      console.error(`backupy-agent: unknown command ${JSON.stringify(args[0])}\n\n${USAGE}`);
      return 2;
    }
    command = args[0] as Command;
    rest = args.slice(1);
  }
  let json = false;
  try {
    const { values, positionals } = parseFlags(rest, FLAGS[command]);
    json = values.json === true;
    if (values.help) {
      console.log(USAGE);
      return 0;
    }
    if (positionals.length > 0) {
      throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
    }
    return await COMMAND_HANDLERS[command](values);
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`backupy-agent: ${error.message}\n\n${USAGE}`);
      return 2;
    }
    if (error instanceof ConfigError) {
      console.error(`backupy-agent: configuration error: ${error.message}`);
      return 1;
    }
    if (error instanceof BackupyError || error instanceof Error) {
      console.error(`error: ${error.message}`);
      if (json) console.log(JSON.stringify({ ok: false, error: error.message }));
      return 1;
    }
    console.error(`error: ${String(error)}`);
    return 1;
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
