/**
 * Redis restored into a running server, without a restart: every key of
 * the RDB is sent with `RESTORE`, whose payload is the value exactly as the
 * RDB encodes it (type byte, value, the snapshot's RDB version, a CRC-64),
 * so no value is decoded and re-encoded. Expiry (absolute), idle time and
 * frequency go along; each logical database goes into the same database
 * number. Functions are loaded with `FUNCTION LOAD`. A key that exists
 * already is left as it is and named in the error, unless `replace` asks to
 * overwrite it. A snapshot of a newer RDB version than the server reads is
 * refused before anything is written; module data (MODULE_AUX) cannot be
 * replayed and fails the restore, saying what to do instead.
 *
 * @module
 */
import { concatBytes } from "../../../decrypt/concat_bytes.ts";
import { ByteBuilder } from "../../bytes/byte_builder.ts";
import { crc64JonesInto } from "../../bytes/crc64.ts";
import { DumpError, type RestoreResult } from "../shared/engine.ts";
import type { RdbEntry, RdbExtra } from "./rdb_keys.ts";
import { RdbKeys } from "./rdb_keys.ts";
import type { RespArgument, RespWritable } from "./resp_pipeline.ts";

/** The RDB version each Redis release writes and reads at most. */
const RDB_VERSIONS: readonly [minVersion: [number, number], rdb: number][] = [
  [[7, 4], 12],
  [[7, 2], 11],
  [[7, 0], 10],
  [[5, 0], 9],
  [[4, 0], 8],
  [[3, 2], 7],
];

/** The highest RDB version a server of `redisVersion` (x.y.z) loads. */
export function rdbVersionFor(redisVersion: string): number {
  const [major, minor] = redisVersion.split(".").map(Number);
  for (const [[m, n], rdb] of RDB_VERSIONS) {
    if (major > m || (major === m && minor >= n)) return rdb;
  }
  return 6;
}

/** The CRC's halves, reused for every payload. */
const crcHalves = new Uint32Array(2);

/**
 * The `RESTORE` payload of one entry (type, value, RDB version LE, CRC-64
 * LE), written straight into the request: no array per key.
 */
export function restorePayloadArgument(entry: RdbEntry, rdbVersion: number): RespWritable {
  return {
    length: 1 + entry.value.length + 2 + 8,
    writeTo(out) {
      const start = out.length;
      out.byte(entry.type);
      out.bytes(entry.value);
      out.byte(rdbVersion & 0xff);
      out.byte(rdbVersion >> 8);
      crc64JonesInto(out.view(start), crcHalves);
      for (const half of crcHalves) {
        out.byte(half & 0xff);
        out.byte((half >>> 8) & 0xff);
        out.byte((half >>> 16) & 0xff);
        out.byte(half >>> 24);
      }
    },
  };
}

/** The `RESTORE` payload of one entry on its own, as `DUMP` gives it. */
export function restorePayload(entry: RdbEntry, rdbVersion: number): Uint8Array {
  const argument = restorePayloadArgument(entry, rdbVersion);
  const out = new ByteBuilder(argument.length);
  argument.writeTo(out);
  return out.take();
}

/** The commands the restore sends, one round trip at a time (a RespPipeline in production). */
export interface RedisCommands {
  /** Runs `commands` in one round trip; each result, or the server's error for it. */
  pipeline(commands: RespArgument[][]): Promise<(Error | null)[]>;
  /** INFO server's redis_version. */
  serverVersion(): Promise<string>;
}

/** Options of a Redis restore. */
export interface RedisRestoreOptions {
  /** Overwrite keys (and function libraries) that exist in the target. */
  replace?: boolean;
  /**
   * Every key into this logical database (a scratch database): the snapshot
   * must hold one database and no function libraries, which would land
   * beside the server's own.
   */
  intoDatabase?: number;
}

/** Keys sent per round trip, or fewer when their payloads are large. */
const BATCH_KEYS = 2048;
const BATCH_BYTES = 4 * 1024 * 1024;
/** Bytes of the snapshot walked before the keys found are sent. */
const WALK_SLICE = 64 * 1024;
/** How many conflicting keys the error names. */
const NAMED = 10;

/**
 * Replays the RDB read from `source` into the server behind `redis`.
 * Resolves with the number of keys restored; rejects with every key that
 * already existed (without `replace`), or with what stopped the restore.
 */
export async function restoreRedis(
  redis: RedisCommands,
  source: ReadableStream<Uint8Array>,
  signal: AbortSignal,
  options: RedisRestoreOptions = {},
): Promise<RestoreResult> {
  const pending: RdbEntry[] = [];
  const extras: RdbExtra[] = [];
  const walker = new RdbKeys({
    onEntry: (entry) => pending.push(entry),
    onExtra: (extra) => extras.push(extra),
  });
  let header: Uint8Array = new Uint8Array(0);
  let rdbVersion = -1;
  let selected = -1;
  /** With `intoDatabase`: the one database of the snapshot. */
  let sourceDb: number | undefined;
  let restored = 0;
  const conflicts: string[] = [];
  const decoder = new TextDecoder();

  /** Counts a batch's restored keys and conflicts; throws on any other error. */
  const check = (results: (Error | null)[], keys: (RdbEntry | null)[], db: number) => {
    for (let i = 0; i < results.length; i++) {
      const error = results[i];
      const entry = keys[i];
      if (!error) {
        if (entry) restored++;
        continue;
      }
      if (entry && /BUSYKEY/.test(error.message)) {
        conflicts.push(`db${entry.db} ${JSON.stringify(decoder.decode(entry.key))}`);
        continue;
      }
      const what = entry
        ? `key ${JSON.stringify(decoder.decode(entry.key))} of db${entry.db}`
        : `SELECT ${db}`;
      throw new DumpError(`restoring ${what} failed: ${error.message}`);
    }
  };

  const send = async () => {
    for (const extra of extras.splice(0)) {
      if (extra.kind === "module-aux") {
        throw new DumpError(
          `the snapshot holds data of a Redis module (module id ${extra.moduleId}), which ` +
            "RESTORE cannot replay: load the RDB file into a server that has the module instead",
        );
      }
      if (options.intoDatabase !== undefined) {
        throw new DumpError(
          "the snapshot holds function libraries, which a scratch database cannot keep apart " +
            "from its server's own: give an empty scratch server instead",
        );
      }
      const [error] = await redis.pipeline([
        ["FUNCTION", "LOAD", ...(options.replace ? ["REPLACE"] : []), extra.code],
      ]);
      if (error && /already exists/i.test(error.message)) conflicts.push("a function library");
      else if (error) throw new DumpError(`FUNCTION LOAD failed: ${error.message}`);
    }
    // Taken from the front by index: shift() moves every other entry each time.
    let next = 0;
    while (next < pending.length) {
      const commands: RespArgument[][] = [];
      const keys: (RdbEntry | null)[] = [];
      let bytes = 0;
      while (next < pending.length && keys.length < BATCH_KEYS && bytes < BATCH_BYTES) {
        const entry = pending[next++];
        const db = options.intoDatabase ?? entry.db;
        if (options.intoDatabase !== undefined) {
          sourceDb ??= entry.db;
          if (entry.db !== sourceDb) {
            throw new DumpError(
              `the snapshot holds keys of db${sourceDb} and db${entry.db}; a scratch database ` +
                "takes one: give an empty scratch server instead",
            );
          }
        }
        if (db !== selected) {
          commands.push(["SELECT", String(db)]);
          keys.push(null);
          selected = db;
        }
        const command: RespArgument[] = [
          "RESTORE",
          entry.key,
          String(entry.expireAtMs ?? 0),
          restorePayloadArgument(entry, rdbVersion),
        ];
        if (options.replace) command.push("REPLACE");
        if (entry.expireAtMs !== undefined) command.push("ABSTTL");
        if (entry.idleSeconds !== undefined) command.push("IDLETIME", String(entry.idleSeconds));
        if (entry.frequency !== undefined) command.push("FREQ", String(entry.frequency));
        commands.push(command);
        keys.push(entry);
        bytes += entry.value.length;
      }
      check(await redis.pipeline(commands), keys, selected);
    }
    pending.length = 0;
  };

  for await (let chunk of source) {
    signal.throwIfAborted();
    if (rdbVersion < 0) {
      header = concatBytes([header, chunk]);
      if (header.length < 9) continue;
      rdbVersion = await checkVersion(redis, header);
      chunk = header;
    }
    // A highly compressible snapshot decompresses into large chunks: walked in slices,
    // so that the keys waiting to be sent stay a batch's worth, not a chunk's.
    for (let at = 0; at < chunk.length; at += WALK_SLICE) {
      walker.update(chunk.subarray(at, at + WALK_SLICE));
      if (walker.error) throw unreadable(walker);
      if (pending.length >= BATCH_KEYS || extras.length > 0) await send();
    }
  }
  if (rdbVersion < 0) throw new DumpError("the backup is not a whole Redis RDB snapshot");
  if (walker.problem()) throw unreadable(walker);
  await send();
  if (conflicts.length > 0) {
    throw new DumpError(
      `restored ${restored} keys; ${conflicts.length} already existed in the target and were ` +
        `left as they were: ${conflicts.slice(0, NAMED).join(", ")}${
          conflicts.length > NAMED ? ", ..." : ""
        } (pass --replace to overwrite them)`,
    );
  }
  return { units: restored, unit: "keys" };
}

/** The snapshot's RDB version, refused when the target server cannot read it. */
async function checkVersion(redis: RedisCommands, header: Uint8Array): Promise<number> {
  const magic = new TextDecoder().decode(header.subarray(0, 9));
  if (!/^REDIS\d{4}$/.test(magic)) {
    throw new DumpError(`not a Redis RDB snapshot: it starts with ${JSON.stringify(magic)}`);
  }
  const version = Number(magic.slice(5));
  const server = await redis.serverVersion();
  const readable = rdbVersionFor(server);
  if (version > readable) {
    throw new DumpError(
      `the snapshot is RDB version ${version}, and Redis ${server} reads at most version ` +
        `${readable}: restore it into a server at least as new as the one it came from`,
    );
  }
  return version;
}

/** Why the snapshot cannot be replayed key by key, and what to do instead. */
function unreadable(walker: RdbKeys): DumpError {
  return new DumpError(
    `the snapshot cannot be replayed key by key: ${walker.problem()}` +
      (walker.stoppedAtUnknownType
        ? "; load the RDB file into a server instead (see the README, Restoring, engine by engine)"
        : ""),
  );
}
