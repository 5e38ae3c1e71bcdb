/**
 * The reference for the idle benchmark: the smallest program built from the
 * pieces an idle agent cannot do without, and nothing of the agent's own.
 * It loads the three packages the idle agent has loaded (protobuf for the
 * envelopes, ws for the control connection, prom-client for /metrics) and
 * touches the platform parts the agent uses while idle: an HTTP server,
 * node:sqlite, a node:http request, node:crypto's HKDF and Web Crypto's
 * AES-GCM. Then it idles until killed, printing "ready" once settled.
 *
 * Its RSS is what the runtime costs before a line of the agent runs, so
 * the agent's idle RSS above it is the agent's own.
 */
import "@bufbuild/protobuf";
import "ws";
import "prom-client";
import http from "node:http";
import { hkdfSync } from "node:crypto";
import { DatabaseSync } from "node:sqlite";

const server = Deno.serve(
  { hostname: "127.0.0.1", port: 0, onListen() {} },
  () => new Response("ok"),
);

const dir = Deno.makeTempDirSync({ prefix: "backupy-idle-floor-" });
try {
  const db = new DatabaseSync(`${dir}/floor.db`);
  db.exec("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)");
  db.prepare("INSERT INTO meta VALUES (?, ?)").run("k", "v");
  db.close();
} finally {
  Deno.removeSync(dir, { recursive: true });
}

await new Promise<void>((resolve) => {
  http.get(`http://127.0.0.1:${server.addr.port}/`, (response) => {
    response.resume();
    response.on("end", resolve);
  });
});

hkdfSync("sha256", new Uint8Array(32), new Uint8Array(16), "floor", 32);
const key = await crypto.subtle.generateKey({ name: "AES-GCM", length: 256 }, false, ["encrypt"]);
await crypto.subtle.encrypt({ name: "AES-GCM", iv: new Uint8Array(12) }, key, new Uint8Array(64));

console.log("ready");
setInterval(() => {}, 60_000);
