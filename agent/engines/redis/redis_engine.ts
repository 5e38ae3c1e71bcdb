/**
 * Redis, natively (docs/agent.md section 5): `ioredis` for the commands that
 * describe the server (version, dataset size), a raw replication
 * connection for the RDB snapshot itself (redis_sync.ts). The stream is
 * checked as it passes: header, EOF opcode and CRC-64.
 *
 * @module
 */
// ioredis loads on first use: an agent without Redis targets never pays for it.
import "./engine_names.ts";
import type { Secret } from "../../../decrypt/secret.ts";
import { checkedDump } from "../shared/checked_dump.ts";
import {
  DumpError,
  type DumpStream,
  type Engine,
  type RestoreOptions,
  type RestoreResult,
} from "../shared/engine.ts";
import { type RedisCommands, restoreRedis } from "./redis_restore.ts";
import { RespPipeline } from "./resp_pipeline.ts";
import { RDB_FORMAT, RdbTrailer } from "./rdb_format.ts";
import { type RedisEndpoint, syncSnapshot } from "./redis_sync.ts";

/** A field of an INFO section. */
function infoField(info: string, name: string): string | undefined {
  return new RegExp(`^${name}:(.*)$`, "m").exec(info)?.[1]?.trim();
}

/** A Redis server reached over TCP (or TLS). */
export class RedisEngine implements Engine {
  readonly name = "redis" as const;
  readonly format = RDB_FORMAT;
  readonly #endpoint: RedisEndpoint;

  /** The server at `endpoint`. */
  constructor(endpoint: RedisEndpoint) {
    this.#endpoint = endpoint;
  }

  /** A connected ioredis client; the caller disconnects it. */
  async #client() {
    const e = this.#endpoint;
    const { Redis } = await import("ioredis");
    const client = new Redis({
      host: e.hostname,
      port: e.port,
      username: e.username,
      password: (e.password as Secret<string> | undefined)?.reveal(),
      tls: e.tls ? { ca: e.caCerts } : undefined,
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
      enableOfflineQueue: false,
      connectTimeout: 10_000,
    });
    client.on("error", () => {});
    try {
      await client.connect();
    } catch (error) {
      client.disconnect();
      throw new DumpError(`Redis at ${e.hostname}:${e.port}: ${(error as Error).message}`);
    }
    return client;
  }

  async #info(section: string): Promise<string> {
    const e = this.#endpoint;
    const client = await this.#client();
    try {
      return await client.info(section);
    } catch (error) {
      throw new DumpError(`Redis at ${e.hostname}:${e.port}: ${(error as Error).message}`);
    } finally {
      client.disconnect();
    }
  }

  /** `Redis x.y.z` from INFO server. */
  async version(): Promise<string> {
    const version = infoField(await this.#info("server"), "redis_version");
    if (!version) throw new DumpError("Redis did not report redis_version");
    return `Redis ${version}`;
  }

  /** INFO memory used_memory_dataset: an upper bound of the RDB, usually well above it. */
  async estimateSize(): Promise<number | undefined> {
    const dataset = Number(infoField(await this.#info("memory"), "used_memory_dataset"));
    return Number.isFinite(dataset) && dataset > 0 ? dataset : undefined;
  }

  /**
   * Replays an RDB into this server key by key with RESTORE (redis_restore.ts),
   * without a restart; `replace` overwrites keys that exist.
   */
  async restore(
    source: ReadableStream<Uint8Array>,
    signal: AbortSignal,
    options: RestoreOptions = {},
  ): Promise<RestoreResult> {
    const into = this.#endpoint.database;
    if (into !== undefined && !options.intoNamedDatabase) {
      throw new DumpError(
        `a Redis restore puts each logical database back under its own number: leave /${into} ` +
          "out of the target URL",
      );
    }
    const redis = await RespPipeline.connect(this.#endpoint);
    const commands: RedisCommands = {
      async pipeline(list) {
        const replies = await redis.send(list);
        return replies.map((reply) => (reply instanceof Error ? reply : null));
      },
      serverVersion: async () => (await this.version()).replace(/^Redis /, ""),
    };
    const onAbort = () => redis.close();
    signal.addEventListener("abort", onAbort, { once: true });
    try {
      return await restoreRedis(commands, source, signal, {
        replace: options.replace,
        intoDatabase: into,
      });
    } finally {
      signal.removeEventListener("abort", onAbort);
      redis.close();
    }
  }

  /**
   * Whether any logical database holds a key, or the one the URL names
   * (INFO keyspace lists only those that do).
   */
  async holdsData(): Promise<boolean> {
    const db = this.#endpoint.database;
    return new RegExp(`^db${db ?? "\\d+"}:keys=`, "m").test(await this.#info("keyspace"));
  }

  /**
   * FLUSHALL, or FLUSHDB of the logical database the URL names: only for a
   * scratch server or database that held nothing before the restore.
   */
  async empty(): Promise<void> {
    const redis = await RespPipeline.connect(this.#endpoint);
    try {
      const db = this.#endpoint.database;
      // A named logical database is emptied alone; the rest of its server is not ours.
      const replies = db === undefined
        ? await redis.send([["FLUSHALL"], ["FUNCTION", "FLUSH"]])
        : await redis.send([["SELECT", String(db)], ["FLUSHDB"]]);
      const failed = replies.find((reply) => reply instanceof Error);
      if (failed) throw new DumpError(`emptying failed: ${(failed as Error).message}`);
    } finally {
      redis.close();
    }
  }

  /** The RDB snapshot through SYNC, validated to its last byte. */
  async dump(signal: AbortSignal): Promise<DumpStream> {
    const snapshot = await syncSnapshot(this.#endpoint, signal);
    return checkedDump(snapshot, new RdbTrailer(), { cancelled: "the Redis dump was cancelled" });
  }
}
