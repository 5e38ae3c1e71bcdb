/**
 * Redis through `docker exec`: `redis-cli --rdb -` where the container's
 * redis-cli can write to stdout (7.0 and later), else `redis-cli --rdb` to a
 * temporary file in the container that is streamed out and removed. The
 * password travels in REDISCLI_AUTH (from the target, else the container's
 * REDIS_PASSWORD); the output is cut after the RDB's checksum
 * (rdb_mark_cut_stream.ts) and checked like a native snapshot.
 *
 * @module
 */
import "./engine_names.ts";
import {
  DockerExecEngine,
  type ExecEnv,
  firstEnv,
  firstSecretEnv,
} from "../shared/docker_exec_engine.ts";
import { DumpError, type DumpStream } from "../shared/engine.ts";
import { RDB_FORMAT, RdbTrailer } from "./rdb_format.ts";
import { RdbMarkCutStream } from "./rdb_mark_cut_stream.ts";

/** How the RDB leaves the container. */
export type RdbTransfer = "stdout" | "file" | "auto";

/** "7.0.15" from `redis-cli 7.0.15`; null when unreadable. */
export function redisCliVersion(text: string): [number, number] | null {
  const match = /(\d+)\.(\d+)\.\d+/.exec(text);
  return match ? [Number(match[1]), Number(match[2])] : null;
}

/** redis-cli --rdb inside the database's container. */
export class DockerExecRedisEngine extends DockerExecEngine {
  readonly name = "redis" as const;
  readonly format = RDB_FORMAT;
  /** Forced transfer for tests of the file path; "auto" decides by version. */
  transfer: RdbTransfer = "auto";

  async #connection(): Promise<{ env: ExecEnv; args: string[] }> {
    const facts = await this.container();
    const env: ExecEnv = {};
    const password = this.target.password ?? firstSecretEnv(facts, "REDIS_PASSWORD");
    if (password) env.REDISCLI_AUTH = password;
    const args: string[] = [];
    if (this.target.host) args.push("-h", this.target.host);
    if (this.target.port) args.push("-p", String(this.target.port));
    const user = this.target.username || firstEnv(facts, "REDIS_USERNAME");
    if (user) args.push("--user", user);
    return { env, args };
  }

  /** INFO's fields; redis-cli prints errors on stdout with status 0, so look for them. */
  async #info(section: string, signal?: AbortSignal): Promise<Map<string, string>> {
    const { env, args } = await this.#connection();
    const out = await this.runText(
      "redis-cli",
      ["redis-cli", ...args, "INFO", section],
      env,
      signal,
    );
    if (/^(\(error\) )?(NOAUTH|WRONGPASS|ERR|NOPERM)/m.test(out)) {
      throw new DumpError(`redis-cli INFO failed: ${out.trim().split("\n")[0].slice(0, 200)}`);
    }
    const fields = new Map<string, string>();
    for (const line of out.split(/\r?\n/)) {
      const colon = line.indexOf(":");
      if (colon > 0 && !line.startsWith("#")) {
        fields.set(line.slice(0, colon), line.slice(colon + 1));
      }
    }
    return fields;
  }

  override async version(signal?: AbortSignal): Promise<string> {
    const version = (await this.#info("server", signal)).get("redis_version");
    if (!version) throw new DumpError("redis-cli INFO server reported no redis_version");
    return `Redis ${version}`;
  }

  override async estimateSize(signal?: AbortSignal): Promise<number | undefined> {
    const size = Number((await this.#info("memory", signal)).get("used_memory_dataset"));
    return Number.isFinite(size) && size > 0 ? size : undefined;
  }

  override async dump(signal: AbortSignal): Promise<DumpStream> {
    const { env, args } = await this.#connection();
    if (await this.#toStdout(signal)) {
      return await this.runDump("redis-cli", ["redis-cli", ...args, "--rdb", "-"], env, signal, {
        transform: new RdbMarkCutStream(),
        check: new RdbTrailer(),
      });
    }
    const file = `/tmp/backupy-${crypto.randomUUID()}.rdb`;
    const remove = () => this.runQuietly(["rm", "-f", file]);
    try {
      await this.runText("redis-cli", ["redis-cli", ...args, "--rdb", file], env, signal);
      return await this.runDump("cat", ["cat", file], {}, signal, {
        check: new RdbTrailer(),
        cleanup: remove,
      });
    } catch (error) {
      await remove();
      throw error;
    }
  }

  async #toStdout(signal: AbortSignal): Promise<boolean> {
    if (this.transfer !== "auto") return this.transfer === "stdout";
    const version = redisCliVersion(
      await this.runText("redis-cli", ["redis-cli", "--version"], {}, signal),
    );
    return version !== null && version[0] >= 7;
  }
}
