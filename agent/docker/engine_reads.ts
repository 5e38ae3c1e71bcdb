/**
 * The Docker Engine API calls that discovery makes while the agent idles
 * (the version, the container list, inspect, the event stream), as plain
 * HTTP GETs on the engine's UNIX socket with `node:http`.
 *
 * dockerode, which the agent uses for everything else Docker does (exec,
 * the containers of restore checks), loads gRPC, protobufjs and ssh2 with
 * it: some 20 MiB that an idle agent watching Docker would otherwise carry
 * for four GETs.
 *
 * @module
 */
import http from "node:http";

/** The engine answered with an error status; `message` is the engine's own. */
export class DockerApiError extends Error {
  /** The HTTP status (404: no such container). */
  readonly statusCode: number;

  /** An error status and the engine's message for it. */
  constructor(statusCode: number, message: string) {
    super(message);
    this.statusCode = statusCode;
  }
}

/** One GET on the socket; resolves with the response as soon as its head arrived. */
function get(socketPath: string, path: string): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    const request = http.request(
      { socketPath, path, method: "GET", headers: { Host: "docker" } },
      resolve,
    );
    request.on("error", reject);
    request.end();
  });
}

async function text(response: http.IncomingMessage): Promise<string> {
  const decoder = new TextDecoder();
  let body = "";
  for await (const chunk of response) body += decoder.decode(chunk as Uint8Array, { stream: true });
  return body + decoder.decode();
}

/** Throws the engine's error for a non-2xx response (after reading its body). */
async function checkStatus(response: http.IncomingMessage): Promise<void> {
  const status = response.statusCode ?? 0;
  if (status >= 200 && status < 300) return;
  const body = await text(response);
  let message = body.trim();
  try {
    message = (JSON.parse(body) as { message?: string }).message ?? message;
  } catch {
    // Not JSON: the body as it is.
  }
  throw new DockerApiError(status, message || `HTTP ${status}`);
}

/** `?name=value&...` with each value JSON-encoded when it is not a string. */
export function query(parameters: Record<string, string | boolean | object>): string {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(parameters)) {
    search.set(name, typeof value === "string" ? value : JSON.stringify(value));
  }
  return `?${search}`;
}

/** GETs `path` and returns its JSON body; throws {@linkcode DockerApiError} for an error status. */
export async function getJson<T>(socketPath: string, path: string): Promise<T> {
  const response = await get(socketPath, path);
  await checkStatus(response);
  return JSON.parse(await text(response)) as T;
}

/**
 * GETs a streaming `path` (newline-separated JSON objects, as `/events`)
 * and calls `onObject` for each, until the engine ends the stream (then
 * it resolves) or `signal` aborts (then it resolves too, at once).
 * `onOpened` is told when the engine accepted the request, so a caller can
 * tell a stream that never opened from one that broke.
 */
export async function getJsonLines(
  socketPath: string,
  path: string,
  onObject: (value: unknown) => void,
  signal: AbortSignal,
  onOpened: () => void = () => {},
): Promise<void> {
  const response = await get(socketPath, path);
  await checkStatus(response);
  onOpened();
  const stop = () => void response.destroy();
  if (signal.aborted) return stop();
  signal.addEventListener("abort", stop, { once: true });
  const decoder = new TextDecoder();
  let buffered = "";
  try {
    for await (const chunk of response) {
      buffered += decoder.decode(chunk as Uint8Array, { stream: true });
      let newline;
      while ((newline = buffered.indexOf("\n")) >= 0) {
        const line = buffered.slice(0, newline).trim();
        buffered = buffered.slice(newline + 1);
        if (line) onObject(JSON.parse(line));
      }
    }
  } catch (error) {
    if (!signal.aborted) throw error;
  } finally {
    signal.removeEventListener("abort", stop);
  }
}
