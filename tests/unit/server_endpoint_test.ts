/** control/server_endpoint.ts: which server URLs the agent dials, and how. */
import { assertEquals } from "../support/assert.ts";
import { websocketUrl } from "../../agent/control/server_endpoint.ts";

Deno.test("server URL rules of docs/wire-protocol.md section 2", () => {
  assertEquals(websocketUrl("https://api.backupy.ru"), "wss://api.backupy.ru/v1/agents/connect");
  assertEquals(websocketUrl("https://api.backupy.ru/"), "wss://api.backupy.ru/v1/agents/connect");
  assertEquals(
    websocketUrl("wss://backupy.tronosfera.ru/agents/connect"),
    "wss://backupy.tronosfera.ru/agents/connect",
  );
  assertEquals(websocketUrl("http://127.0.0.1:8080"), "ws://127.0.0.1:8080/v1/agents/connect");
});
