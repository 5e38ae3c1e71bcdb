/**
 * Benchmark helper, the ceiling: read every document of every collection
 * with the bare driver (raw BSON, nothing decoded), as the engine must.
 * Prints the byte count.
 *
 *   deno run -A tests/bench/mongo_read.ts MONGODB_URL
 */
import { MongoClient } from "mongodb";

const client = new MongoClient(Deno.args[0]);
await client.connect();
let bytes = 0;
const { databases } = await client.db("admin").admin().listDatabases({ nameOnly: true });
for (const { name } of databases) {
  for (const info of await client.db(name).listCollections().toArray()) {
    for await (const raw of client.db(name).collection(info.name).find({}, { raw: true })) {
      bytes += (raw as unknown as Uint8Array).length;
    }
  }
}
await client.close();
console.log(bytes);
