/**
 * Benchmark helper: the agent's MySQL/MariaDB engine dumping one database
 * to a sink that discards it (the dump alone, for comparing with
 * mariadb-dump > /dev/null). Prints the byte count.
 *
 *   deno run -A tests/bench/mysql_dump.ts HOST PORT USER DATABASE   (password in MYSQL_PWD)
 */
import { MysqlEngine } from "../../agent/engines/mysql/mysql_engine.ts";
import { GarbageReleaseStream } from "../../decrypt/garbage_release_stream.ts";
import { Secret } from "../../decrypt/secret.ts";

const [host, port, user, database] = Deno.args;
const engine = new MysqlEngine({
  host,
  port: Number(port),
  user,
  password: new Secret(Deno.env.get("MYSQL_PWD") ?? ""),
  database,
});
const dump = await engine.dump(new AbortController().signal);
let bytes = 0;
await dump.readable.pipeThrough(new GarbageReleaseStream()).pipeTo(
  new WritableStream({ write: (chunk) => void (bytes += chunk.length) }),
);
await dump.finished;
console.log(bytes);
