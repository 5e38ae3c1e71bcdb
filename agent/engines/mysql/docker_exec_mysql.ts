/**
 * MySQL and MariaDB through `docker exec`: `mariadb-dump` or `mysqldump`,
 * whichever the container has, with `--single-transaction --routines
 * --triggers --events`. One database is dumped without `--databases`, so the
 * dump restores under any name, as the native engine's does. The password
 * travels in MYSQL_PWD; the container's MARIADB_ / MYSQL_ variables fill
 * what the target leaves empty.
 *
 * @module
 */
import "./engine_names.ts";
import type { Secret } from "../../../decrypt/secret.ts";
import { CompletionLineCheck } from "../shared/checked_dump.ts";
import type { ContainerFacts } from "../shared/container_exec.ts";
import {
  DockerExecEngine,
  type ExecEnv,
  type ExecTarget,
  firstAvailable,
  firstEnv,
  firstSecretEnv,
} from "../shared/docker_exec_engine.ts";
import type { DumpStream } from "../shared/engine.ts";
import { DumpError } from "../shared/engine.ts";
import { describeServer } from "./mysql_engine.ts";
import { SYSTEM_DATABASES } from "./mysql_dump_writer.ts";
import { MYSQL_FORMAT } from "./mysql_format.ts";

/** Who connects, to what. */
export interface MysqlExecLogin {
  user: string;
  password?: Secret<string>;
  /** Empty: every database. */
  database: string;
}

/** The login for `target` in `facts`' container (exported for the tests). */
export function mysqlExecLogin(target: ExecTarget, facts: ContainerFacts): MysqlExecLogin {
  const database = target.database || firstEnv(facts, "MARIADB_DATABASE", "MYSQL_DATABASE") || "";
  const rootPassword = firstSecretEnv(facts, "MARIADB_ROOT_PASSWORD", "MYSQL_ROOT_PASSWORD");
  const appUser = firstEnv(facts, "MARIADB_USER", "MYSQL_USER");
  const appPassword = firstSecretEnv(facts, "MARIADB_PASSWORD", "MYSQL_PASSWORD");
  if (target.username) {
    const fallback = target.username === "root"
      ? rootPassword
      : target.username === appUser
      ? appPassword
      : undefined;
    return { user: target.username, password: target.password ?? fallback, database };
  }
  if (target.password) return { user: "root", password: target.password, database };
  if (rootPassword) return { user: "root", password: rootPassword, database };
  if (appUser) return { user: appUser, password: appPassword, database };
  return { user: "root", database };
}

function sqlString(value: string): string {
  return "'" + value.replaceAll("\\", "\\\\").replaceAll("'", "''") + "'";
}

/** mariadb-dump / mysqldump inside the database's container. */
export class DockerExecMysqlEngine extends DockerExecEngine {
  readonly format = MYSQL_FORMAT;
  readonly name: "mysql" | "mariadb";

  /** `flavor` names the engine in reports; the tool is chosen by what the container has. */
  constructor(
    runtime: ConstructorParameters<typeof DockerExecEngine>[0],
    target: ExecTarget,
    flavor: "mysql" | "mariadb",
  ) {
    super(runtime, target);
    this.name = flavor;
  }

  async #login(): Promise<{ login: MysqlExecLogin; env: ExecEnv; connect: string[] }> {
    const login = mysqlExecLogin(this.target, await this.container());
    const env: ExecEnv = {};
    if (login.password) env.MYSQL_PWD = login.password;
    const connect = ["-u", login.user];
    if (this.target.host) {
      connect.push(
        "--protocol=tcp",
        "-h",
        this.target.host,
        "-P",
        String(this.target.port || 3306),
      );
    }
    return { login, env, connect };
  }

  async #query(sql: string, signal?: AbortSignal): Promise<string> {
    const { env, connect } = await this.#login();
    return await this.runText(
      "mariadb/mysql",
      firstAvailable(["mariadb", "mysql"], [...connect, "-N", "-B", "-e", sql]),
      env,
      signal,
    );
  }

  override async version(signal?: AbortSignal): Promise<string> {
    const version = (await this.#query("SELECT VERSION()", signal)).trim();
    if (!version) throw new DumpError("the server reported no version");
    return describeServer(version).label;
  }

  override async estimateSize(signal?: AbortSignal): Promise<number | undefined> {
    const { login } = await this.#login();
    const where = login.database
      ? `table_schema = ${sqlString(login.database)}`
      : `table_schema NOT IN (${SYSTEM_DATABASES.map(sqlString).join(", ")})`;
    const out = await this.#query(
      `SELECT COALESCE(SUM(data_length + index_length), 0) FROM information_schema.tables WHERE ${where}`,
      signal,
    );
    const size = Number(out.trim());
    return Number.isFinite(size) && size > 0 ? size : undefined;
  }

  override async dump(signal: AbortSignal): Promise<DumpStream> {
    const { login, env, connect } = await this.#login();
    if (login.database.startsWith("-")) {
      throw new DumpError(`the database name ${login.database} would read as an option`);
    }
    const args = [
      ...connect,
      "--single-transaction",
      // Binary and BIT values as hex: safe in any client, and the literals our own
      // dumps write, so the manifest's digests read the same either way.
      "--hex-blob",
      "--routines",
      "--triggers",
      "--events",
      login.database ? login.database : "--all-databases",
    ];
    return await this.runDump(
      "mariadb-dump/mysqldump",
      firstAvailable(["mariadb-dump", "mysqldump"], args),
      env,
      signal,
      // Both tools end a complete dump with this line.
      { check: new CompletionLineCheck(/-- Dump completed( on [^\n]*)?\s*$/) },
    );
  }
}
