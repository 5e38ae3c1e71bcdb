/**
 * PostgreSQL through `docker exec`: the container's own `pg_dump -Fc`, so
 * the dump always matches the server's version. User, database and password
 * come from the target, else from the container's environment
 * (POSTGRES_USER, ...); everything travels in libpq's environment variables
 * (PGPASSWORD, PGUSER, ...), nothing in argv.
 *
 * @module
 */
import "./engine_names.ts";
import type { ContainerFacts } from "../shared/container_exec.ts";
import {
  DockerExecEngine,
  type ExecEnv,
  type ExecTarget,
  firstEnv,
  firstSecretEnv,
} from "../shared/docker_exec_engine.ts";
import { DumpError, type DumpOptions, type DumpStream } from "../shared/engine.ts";
import { PG_CUSTOM_FORMAT } from "./postgres_format.ts";

/** pg_dump -Fc inside the database's container. */
export class DockerExecPostgresEngine extends DockerExecEngine {
  readonly name = "postgresql" as const;
  readonly format = PG_CUSTOM_FORMAT;

  /** libpq's environment for the target, filled from the container's. */
  async #env(): Promise<ExecEnv> {
    const facts = await this.container();
    return postgresExecEnv(this.target, facts);
  }

  override async version(signal?: AbortSignal): Promise<string> {
    const out = await this.runText(
      "psql",
      [
        "psql",
        "-XtAc",
        "SHOW server_version",
      ],
      await this.#env(),
      signal,
    );
    const number = out.trim().split(/\s/)[0];
    if (!number) throw new DumpError("psql printed no server version");
    return `PostgreSQL ${number}`;
  }

  override async estimateSize(signal?: AbortSignal): Promise<number | undefined> {
    const out = await this.runText(
      "psql",
      [
        "psql",
        "-XtAc",
        "SELECT pg_database_size(current_database())",
      ],
      await this.#env(),
      signal,
    );
    const size = Number(out.trim());
    return Number.isFinite(size) && size > 0 ? size : undefined;
  }

  /**
   * When the pipeline compresses anyway, pg_dump's own zlib (the slowest part
   * of a -Fc dump) is switched off with -Z0: the archive is the same
   * pg_restore input, compressed once, by zstd.
   */
  override async dump(signal: AbortSignal, options: DumpOptions = {}): Promise<DumpStream> {
    const argv = ["pg_dump", "-Fc", "--no-password"];
    if (options.compressedDownstream) argv.push("-Z0");
    return this.runDump("pg_dump", argv, await this.#env(), signal);
  }
}

/** PG* variables for `target` in `facts`' container; exported for the tests. */
export function postgresExecEnv(
  target: ExecTarget,
  facts: ContainerFacts,
): ExecEnv {
  const user = target.username ||
    firstEnv(facts, "POSTGRES_USER", "POSTGRESQL_USERNAME", "POSTGRESQL_USER", "PGUSER") ||
    "postgres";
  const password = target.password ??
    firstSecretEnv(facts, "POSTGRES_PASSWORD", "POSTGRESQL_PASSWORD", "PGPASSWORD");
  const database = target.database ||
    firstEnv(facts, "POSTGRES_DB", "POSTGRESQL_DATABASE", "PGDATABASE") || user;
  const env: ExecEnv = {
    PGUSER: user,
    PGDATABASE: database,
    PGCONNECT_TIMEOUT: "15",
    PGAPPNAME: "backupy-agent",
  };
  if (password) env.PGPASSWORD = password;
  if (target.host) env.PGHOST = target.host;
  if (target.port) env.PGPORT = String(target.port);
  return env;
}
