/**
 * Benchmark helper: takes one RDB snapshot with the agent's Redis engine and
 * writes it to a file (the engine's part alone, for comparing with
 * `redis-cli --rdb`). Prints the byte count.
 *
 *   deno run -A tests/bench/redis_snapshot.ts HOST PORT OUT
 */
import { RedisEngine } from "../../agent/engines/redis/redis_engine.ts";
import { fileSink } from "../../decrypt/file_sink.ts";
import { GarbageReleaseStream } from "../../decrypt/garbage_release_stream.ts";

const [hostname, port, out] = Deno.args;
const engine = new RedisEngine({ hostname, port: Number(port), tls: false });
const dump = await engine.dump(new AbortController().signal);
using file = await Deno.open(out, { write: true, create: true, truncate: true });
await dump.readable.pipeThrough(new GarbageReleaseStream()).pipeTo(fileSink(file));
await dump.finished;
console.log((await file.stat()).size);
