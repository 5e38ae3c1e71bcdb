/**
 * Benchmark helper: the agent's MongoDB engine writing the whole archive to
 * a sink that discards it. Prints the byte count.
 *
 *   deno run -A tests/bench/mongo_dump.ts HOST:PORT USER   (password in BENCH_MONGO_PASSWORD)
 */
import { MongoEngine } from "../../agent/engines/mongodb/mongo_engine.ts";
import { Secret } from "../../decrypt/secret.ts";

const [host, user] = Deno.args;
const engine = new MongoEngine({
  hosts: [host],
  username: user,
  password: new Secret(Deno.env.get("BENCH_MONGO_PASSWORD") ?? ""),
  database: "",
});
const dump = await engine.dump(new AbortController().signal);
let bytes = 0;
await dump.readable.pipeTo(new WritableStream({ write: (chunk) => void (bytes += chunk.length) }));
await dump.finished;
console.log(bytes);
