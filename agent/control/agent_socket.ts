/**
 * One WebSocket connection to the control plane: the bearer header, binary
 * envelopes only, the 4 MiB inbound limit, and knowing when a sent message
 * has been fully written (the outbox may drop it only then).
 *
 * @module
 */
import type { Secret } from "../../decrypt/secret.ts";

/** Largest inbound message (wire-protocol.md section 2). */
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
  /** A message over the limit: the socket is being closed with 1009. */
  onOversize(bytes: number): void;
  /** The connection closed (for any reason). */
  onClose(code: number, reason: string): void;
}

/** An open connection. */
export class AgentSocket {
  readonly #ws: WebSocket;
  #closed = false;
  readonly closed: Promise<void>;

  private constructor(ws: WebSocket, events: SocketEvents) {
    this.#ws = ws;
    let resolveClosed: () => void;
    this.closed = new Promise((resolve) => resolveClosed = resolve);
    ws.onmessage = (event) => {
      if (typeof event.data === "string") {
        events.onText(event.data.length);
        return;
      }
      const bytes = new Uint8Array(event.data as ArrayBuffer);
      if (bytes.length > MAX_INBOUND_BYTES) {
        events.onOversize(bytes.length);
        this.close(1009, "message too big");
        return;
      }
      events.onBinary(bytes);
    };
    ws.onclose = (event) => {
      this.#closed = true;
      events.onClose(event.code, event.reason);
      resolveClosed();
    };
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
      // Deno's WebSocket takes extra upgrade headers as a second argument.
      const ws = new WebSocket(url, {
        headers: { Authorization: `Bearer ${agentKey.reveal()}` },
      } as unknown as string[]);
      ws.binaryType = "arraybuffer";
      const timer = setTimeout(() => {
        if (settled) return;
        settled = true;
        ws.onclose = null;
        try {
          ws.close();
        } catch {
          // Not open yet.
        }
        reject(new ConnectError(`no connection within ${timeoutMs / 1000} s`));
      }, timeoutMs);
      ws.onopen = () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(new AgentSocket(ws, events));
      };
      ws.onerror = (event) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        const message = (event as ErrorEvent).message ?? "connection failed";
        const status = /status code:?\s*(\d{3})/i.exec(message);
        if (status && (status[1] === "401" || status[1] === "403")) {
          reject(new KeyRejectedError(Number(status[1])));
        } else {
          reject(new ConnectError(message.replaceAll(agentKey.reveal(), "<redacted>")));
        }
      };
    });
  }

  /** Whether the socket is still open. */
  get isOpen(): boolean {
    return !this.#closed && this.#ws.readyState === WebSocket.OPEN;
  }

  /** Queues a binary message. */
  send(bytes: Uint8Array): void {
    this.#ws.send(bytes);
  }

  /**
   * Resolves true once everything sent so far has been written to the
   * socket (nothing left buffered), false if the socket closed first.
   */
  async drained(): Promise<boolean> {
    while (this.isOpen) {
      if (this.#ws.bufferedAmount === 0) return true;
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    return false;
  }

  /** Closes with `code` and `reason`. */
  close(code = 1000, reason = ""): void {
    if (this.#closed) return;
    try {
      this.#ws.close(code, reason);
    } catch {
      // Already closing.
    }
  }
}
