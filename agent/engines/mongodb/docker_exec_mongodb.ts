/**
 * MongoDB through `docker exec`: the container's `mongodump --archive` to
 * stdout. mongodump reads no password from its environment, so the wrapper
 * writes it from an environment variable into a 0600 `--config` file in the
 * container's /tmp, removed again when the dump ends; it never reaches
 * argv. The user comes from the target, else MONGO_INITDB_ROOT_USERNAME,
 * and authenticates against `admin` (where the official image creates its
 * root user) unless a docker:// URL's `?authSource=` names another database.
 *
 * @module
 */
import "./engine_names.ts";
import { Secret } from "../../../decrypt/secret.ts";
import {
  DockerExecEngine,
  type ExecEnv,
  firstEnv,
  firstSecretEnv,
} from "../shared/docker_exec_engine.ts";
import { DumpError, type DumpStream } from "../shared/engine.ts";
import { MONGO_ARCHIVE_FORMAT } from "./mongo_archive_format.ts";

/** Writes the password config (if any) and execs mongodump with the rest of argv. */
const MONGODUMP_SCRIPT = [
  'config="$1"; shift',
  'if [ -n "${BACKUPY_MONGODUMP_CONFIG:-}" ]; then',
  '  (umask 077; printf "%s\\n" "$BACKUPY_MONGODUMP_CONFIG" > "$config")',
  '  set -- --config "$config" "$@"',
  "fi",
  "unset BACKUPY_MONGODUMP_CONFIG",
  'exec mongodump "$@"',
].join("\n");

/** The first way the container has of telling the server's version (arguments: host and port). */
const VERSION_SCRIPT = [
  "if command -v mongosh >/dev/null 2>&1; then exec mongosh --quiet \"$@\" --eval 'db.version()'",
  "elif command -v mongo >/dev/null 2>&1; then exec mongo --quiet \"$@\" --eval 'db.version()'",
  "elif command -v mongod >/dev/null 2>&1; then exec mongod --version",
  "else exec mongodump --version; fi",
].join("\n");

/** A YAML single-quoted scalar. */
function yamlString(value: string): string {
  return "'" + value.replaceAll("'", "''") + "'";
}

/** mongodump --archive inside the database's container. */
export class DockerExecMongoEngine extends DockerExecEngine {
  readonly name = "mongodb" as const;
  readonly format = MONGO_ARCHIVE_FORMAT;

  /** mongodump's connection flags and the environment carrying the password. */
  async commandParts(): Promise<{ env: ExecEnv; args: string[] }> {
    const facts = await this.container();
    const user = this.target.username || firstEnv(facts, "MONGO_INITDB_ROOT_USERNAME");
    const password = this.target.password ??
      firstSecretEnv(facts, "MONGO_INITDB_ROOT_PASSWORD");
    const args: string[] = [];
    if (this.target.host) args.push(`--host=${this.target.host}`);
    if (this.target.port) args.push(`--port=${this.target.port}`);
    const env: ExecEnv = {};
    if (user) {
      // A root user (MONGO_INITDB_ROOT_USERNAME, or most users named in a URL) lives in admin.
      args.push(
        `--username=${user}`,
        `--authenticationDatabase=${this.target.authSource ?? "admin"}`,
      );
      if (password) {
        env.BACKUPY_MONGODUMP_CONFIG = new Secret(`password: ${yamlString(password.reveal())}`);
      }
    }
    if (this.target.database) args.push(`--db=${this.target.database}`);
    return { env, args };
  }

  /**
   * The server's version as the server reports it (`db.version()` through
   * the container's mongosh or mongo shell: buildInfo needs no login), else
   * its binary's (`mongod --version`), else - a container with only the
   * database tools - mongodump's own, said as such.
   */
  override async version(signal?: AbortSignal): Promise<string> {
    const connect = [
      ...(this.target.host ? [`--host=${this.target.host}`] : []),
      ...(this.target.port ? [`--port=${this.target.port}`] : []),
    ];
    const out = await this.runText(
      "a MongoDB shell, mongod or mongodump",
      ["sh", "-c", VERSION_SCRIPT, "sh", ...connect],
      {},
      signal,
    );
    const server = /^(?:db version v)?(\d+\.\d+\.\d+)\s*$/m.exec(out)?.[1];
    if (server) return `MongoDB ${server}`;
    const tools = /mongodump version: (?:r)?(\d+\.\d+\.\d+)/.exec(out)?.[1];
    if (tools) return `MongoDB (server version unknown: mongodump ${tools})`;
    throw new DumpError(`no MongoDB version in what the container printed: ${out.slice(0, 200)}`);
  }

  override estimateSize(): Promise<number | undefined> {
    return Promise.resolve(undefined);
  }

  override async dump(signal: AbortSignal): Promise<DumpStream> {
    const { env, args } = await this.commandParts();
    const config = `/tmp/backupy-${crypto.randomUUID()}.yaml`;
    const remove = () => this.runQuietly(["rm", "-f", config]);
    try {
      return await this.runDump(
        "mongodump",
        ["sh", "-c", MONGODUMP_SCRIPT, "sh", config, ...args, "--archive"],
        env,
        signal,
        { cleanup: remove },
      );
    } catch (error) {
      await remove();
      throw error;
    }
  }
}
