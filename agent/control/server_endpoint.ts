/**
 * The WebSocket URL of the control plane (docs/wire-protocol.md section 2):
 * https -> wss, http -> ws; with no path (or "/") the default path
 * `/v1/agents/connect` is appended, otherwise the path is used as given.
 *
 * @module
 */

/** The default connect path. */
export const CONNECT_PATH = "/v1/agents/connect";

/**
 * The WebSocket URL for a configured server URL.
 *
 * @example
 * ```ts
 * import { websocketUrl } from "./server_endpoint.ts";
 * console.assert(websocketUrl("https://api.backupy.ru") === "wss://api.backupy.ru/v1/agents/connect");
 * console.assert(websocketUrl("wss://b.example/agents/connect") === "wss://b.example/agents/connect");
 * ```
 */
export function websocketUrl(serverUrl: string): string {
  const url = new URL(serverUrl);
  if (url.protocol === "https:") url.protocol = "wss:";
  else if (url.protocol === "http:") url.protocol = "ws:";
  if (url.pathname === "" || url.pathname === "/") url.pathname = CONNECT_PATH;
  url.hash = "";
  return url.toString();
}
