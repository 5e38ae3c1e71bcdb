/**
 * One WebSocket connection to the control plane: the bearer header, binary
 * envelopes only, the 4 MiB inbound limit (closed with 1009), and knowing
 * when a sent message has been fully written (the outbox may drop it only
 * then).
 *
 * Why the `ws` package and not the platform's WebSocket: the protocol needs
 * the client to close with 1008 and 1009, which the browser-style API
 * (and Deno's WebSocketStream) refuse - only 1000 and 3000-4999 - and it
 * hides the HTTP status of a refused upgrade, which tells a rejected key
 * (401/403) from an outage. `ws` allows both, enforces the payload limit
 * before buffering a huge message, and calls back once a message is written.
 *
 * @module
 */
// @ts-types="@types/ws"
import WebSocket from "ws";
import type { Secret } from "../../decrypt/secret.ts";

/** Largest inbound message (docs/wire-protocol.md section 2). */
export const MAX_INBOUND_BYTES = 4 * 1024 * 1024;

/** The server refused the upgrade with 401 or 403. */
export class KeyRejectedError extends Error {
  /** The HTTP status. */
  readonly status: number;
  constructor(status: number) {
    super(`agent key rejected by server (HTTP ${status})`);
    this.status = status;
  }
}

/** Connecting failed for any other reason. */
export class ConnectError extends Error {}

/** What the connection reports. */
export interface SocketEvents {
  /** A binary message within the size limit. */
  onBinary(bytes: Uint8Array): void;
  /** A text message (ignored by the protocol). */
  onText(length: number): void;
  /** A message over the limit: the socket is closing with 1009. */
  onOversize(): void;
  /** The connection closed (for any reason). */
  onClose(code: number, reason: string): void;
}

/** An open connection. */
export class AgentSocket {
  readonly #ws: WebSocket;
  /** Resolves once the connection has closed. */
  readonly closed: Promise<void>;

  private constructor(ws: WebSocket, events: SocketEvents) {
    this.#ws = ws;
    let resolveClosed: () => void;
    this.closed = new Promise((resolve) => resolveClosed = resolve);
    ws.on("message", (data: Uint8Array, isBinary: boolean) => {
      if (!isBinary) return events.onText(data.length);
      events.onBinary(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    });
    ws.on("error", (error: Error & { code?: string }) => {
      // ws closes with 1009 by itself when a message is over maxPayload.
      if (error.code === "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH") events.onOversize();
    });
    ws.on("close", (code: number, reason: Uint8Array) => {
      events.onClose(code, new TextDecoder().decode(reason));
      resolveClosed();
    });
  }

  /**
   * Connects with `Authorization: Bearer <key>` (no subprotocol), failing
   * after `timeoutMs`. Throws {@linkcode KeyRejectedError} on 401/403 and
   * {@linkcode ConnectError} otherwise; neither message carries the key.
   */
  static connect(
    url: string,
    agentKey: Secret<string>,
    timeoutMs: number,
    events: SocketEvents,
  ): Promise<AgentSocket> {
    return new Promise((resolve, reject) => {
      let settled = false;
      const ws = new WebSocket(url, {
        headers: { Authorization: `Bearer ${agentKey.reveal()}` },
        maxPayload: MAX_INBOUND_BYTES,
        handshakeTimeout: timeoutMs,
        perMessageDeflate: false,
        followRedirects: false,
      });
      const fail = (error: Error) => {
        if (settled) return;
        settled = true;
        ws.removeAllListeners();
        ws.on("error", () => {});
        ws.terminate();
        reject(error);
      };
      ws.once("unexpected-response", (_request: unknown, response: { statusCode?: number }) => {
        const status = response.statusCode ?? 0;
        fail(
          status === 401 || status === 403
            ? new KeyRejectedError(status)
            : new ConnectError(`upgrade refused with HTTP ${status}`),
        );
      });
      ws.once("error", (error: Error) => {
        fail(new ConnectError(error.message.replaceAll(agentKey.reveal(), "<redacted>")));
      });
      ws.once("open", () => {
        if (settled) return;
        settled = true;
        ws.removeAllListeners();
        resolve(new AgentSocket(ws, events));
      });
    });
  }

  /** Whether the socket is open. */
  get isOpen(): boolean {
    return this.#ws.readyState === WebSocket.OPEN;
  }

  /** Sends a binary message; resolves true once written to the socket, false if it closed first. */
  send(bytes: Uint8Array): Promise<boolean> {
    return new Promise((resolve) => {
      if (!this.isOpen) return resolve(false);
      this.#ws.send(bytes, { binary: true }, (error?: Error) => resolve(!error));
    });
  }

  /** Closes with `code` and `reason`; a peer that does not answer is cut off after 2 s. */
  close(code = 1000, reason = ""): void {
    if (this.#ws.readyState === WebSocket.CLOSED) return;
    try {
      this.#ws.close(code, reason);
    } catch {
      this.#ws.terminate();
      return;
    }
    const timer = setTimeout(() => this.#ws.terminate(), 2000);
    this.closed.then(() => clearTimeout(timer));
  }
}
