/**
 * Benchmark helper: the agent's PostgreSQL engine dumping one database to a
 * sink that discards it (the dump alone, for comparing with pg_dump -Fp >
 * /dev/null). Prints the byte count.
 *
 *   deno run -A tests/bench/postgres_dump.ts HOST PORT USER DATABASE   (password in PGPASSWORD)
 */
import { PostgresEngine } from "../../agent/engines/postgres/postgres_engine.ts";
import { GarbageReleaseStream } from "../../decrypt/garbage_release_stream.ts";
import { Secret } from "../../decrypt/secret.ts";

const [host, port, user, database] = Deno.args;
const engine = new PostgresEngine({
  host,
  port: Number(port),
  user,
  password: new Secret(Deno.env.get("PGPASSWORD") ?? ""),
  database,
});
const dump = await engine.dump(new AbortController().signal);
let bytes = 0;
await dump.readable.pipeThrough(new GarbageReleaseStream()).pipeTo(
  new WritableStream({ write: (chunk) => void (bytes += chunk.length) }),
);
await dump.finished;
console.log(bytes);
