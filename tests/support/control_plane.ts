/**
 * A small, protocol-faithful Backupy control plane for the tests
 * (docs/wire-protocol.md): a WebSocket endpoint that checks the bearer key,
 * expects Register first, answers RegisterAck with a config, records every
 * envelope the agent sends, and lets a test send commands, drop
 * connections, or misbehave on purpose.
 */
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { type Envelope, EnvelopeSchema } from "@backupy/gen/backup/v1/envelope_pb.ts";
import {
  type AgentConfig,
  AgentConfigSchema,
  PingSchema,
  RegisterAckSchema,
} from "@backupy/gen/backup/v1/server_to_agent_pb.ts";
import { Notifier } from "../../agent/control/notifier.ts";

/** The payload kinds of an Envelope. */
export type PayloadCase = NonNullable<Envelope["payload"]["case"]>;
/** The message type of payload kind `K`. */
export type PayloadOf<K extends PayloadCase> = Envelope["payload"] extends infer P
  ? P extends { case: K; value: infer V } ? V : never
  : never;

/** How the server behaves. */
export interface ControlPlaneOptions {
  /** The agent key it accepts. */
  agentKey: string;
  /** The config sent in RegisterAck. */
  config?: AgentConfig;
  /** heartbeat_interval_sec in RegisterAck. */
  heartbeatIntervalSec?: number;
  /** Answer upgrades with this status instead (401/403 tests). */
  refuseWith?: number;
  /** Do not answer Register (RegisterAck timeout tests). */
  silent?: boolean;
  /** Send a Ping this often (a real server's keep-alive traffic). */
  pingEveryMs?: number;
}

/** One envelope the agent sent, with the connection it came on. */
export interface Received {
  connection: number;
  envelope: Envelope;
}

/** The test control plane. */
export class ControlPlane implements AsyncDisposable {
  readonly options: ControlPlaneOptions;
  readonly received: Received[] = [];
  /** Upgrade attempts (accepted or refused). */
  attempts = 0;
  /** Accepted WebSocket connections. */
  connections = 0;
  /** Connection close codes the agent chose, in order. */
  readonly closeCodes: number[] = [];
  #server: Deno.HttpServer<Deno.NetAddr>;
  #socket: WebSocket | null = null;
  #changed = new Notifier();
  #sessionCounter = 0;
  #pinger: ReturnType<typeof setInterval> | undefined;

  constructor(options: ControlPlaneOptions) {
    this.options = options;
    if (options.pingEveryMs) {
      this.#pinger = setInterval(() => {
        if (this.connected) {
          this.send({ case: "ping", value: create(PingSchema, { tsMs: BigInt(Date.now()) }) });
        }
      }, options.pingEveryMs);
    }
    this.#server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen() {} },
      (request) => this.#handle(request),
    );
  }

  /** The URL to give the agent as BACKUPY_SERVER_URL. */
  get url(): string {
    return `http://127.0.0.1:${this.#server.addr.port}`;
  }

  /** Whether an agent is connected now. */
  get connected(): boolean {
    return this.#socket?.readyState === WebSocket.OPEN;
  }

  #handle(request: Request): Response {
    this.attempts++;
    this.#changed.notify();
    if (new URL(request.url).pathname !== "/v1/agents/connect") {
      return new Response("not found", { status: 404 });
    }
    if (this.options.refuseWith) {
      return new Response("refused", { status: this.options.refuseWith });
    }
    if (request.headers.get("authorization") !== `Bearer ${this.options.agentKey}`) {
      return new Response("bad key", { status: 401 });
    }
    if (request.headers.get("sec-websocket-protocol")) {
      return new Response("no subprotocol", { status: 400 });
    }
    const { socket, response } = Deno.upgradeWebSocket(request);
    const connection = ++this.connections;
    socket.binaryType = "arraybuffer";
    socket.onopen = () => {
      this.#socket?.close(1000, "replaced");
      this.#socket = socket;
      this.#changed.notify();
    };
    socket.onmessage = (event) => {
      if (typeof event.data === "string") return;
      const envelope = fromBinary(EnvelopeSchema, new Uint8Array(event.data as ArrayBuffer));
      this.received.push({ connection, envelope });
      if (envelope.payload.case === "register" && !this.options.silent) {
        this.sendOn(socket, {
          case: "registerAck",
          value: create(RegisterAckSchema, {
            sessionId: `session-${++this.#sessionCounter}`,
            config: this.options.config ?? create(AgentConfigSchema),
            heartbeatIntervalSec: this.options.heartbeatIntervalSec ?? 30,
            serverTimeIso: new Date().toISOString(),
          }),
        });
      }
      this.#changed.notify();
    };
    socket.onclose = (event) => {
      this.closeCodes.push(event.code);
      if (this.#socket === socket) this.#socket = null;
      this.#changed.notify();
    };
    return response;
  }

  sendOn(socket: WebSocket, payload: Envelope["payload"], correlationId = ""): void {
    socket.send(toBinary(
      EnvelopeSchema,
      create(EnvelopeSchema, {
        tsMs: BigInt(Date.now()),
        correlationId,
        payload,
      }),
    ));
  }

  /** Sends a command to the connected agent. */
  send(payload: Envelope["payload"], correlationId = ""): void {
    if (!this.#socket) throw new Error("no agent connected");
    this.sendOn(this.#socket, payload, correlationId);
  }

  /** Sends raw bytes (malformed and oversize frame tests). */
  sendRaw(data: Uint8Array | string): void {
    if (!this.#socket) throw new Error("no agent connected");
    this.#socket.send(data);
  }

  /** Closes the agent's connection from the server side. */
  drop(code = 1011, reason = "test drop"): void {
    this.#socket?.close(code, reason);
  }

  /** Envelopes with payload `kind`, in arrival order. */
  payloads<K extends PayloadCase>(kind: K): PayloadOf<K>[] {
    return this.received
      .filter((r) => r.envelope.payload.case === kind)
      .map((r) => r.envelope.payload.value as PayloadOf<K>);
  }

  /** Waits until `condition` holds (re-checked on every event), or throws after `timeoutMs`. */
  async waitFor<T>(
    what: string,
    condition: () => T | undefined | false,
    timeoutMs = 30_000,
  ): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = condition();
      if (value) return value;
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; ${this.#story()}`);
      }
      await Promise.race([
        this.#changed.wait(),
        new Promise((r) => setTimeout(r, Math.min(left, 200))),
      ]);
    }
  }

  /** What the agent said so far, for a timeout's message: the payloads, and every run's last step. */
  #story(): string {
    const cases = this.received.map((r) => r.envelope.payload.case);
    const updates = this.received.flatMap((r) =>
      r.envelope.payload.case === "jobUpdate" ? [r.envelope.payload.value] : []
    );
    const last = new Map(
      updates.map((u) => [u.runId, `${u.currentStep} ${u.errorMessage}`.trim()]),
    );
    const logs = this.received.flatMap((r) =>
      r.envelope.payload.case === "log" ? [r.envelope.payload.value.message] : []
    );
    return `received ${cases.join(", ") || "nothing"}; runs: ${
      [...last].map(([run, step]) => `${run} at ${step || "?"}`).join("; ") || "none"
    }; logs: ${logs.slice(-5).join(" | ") || "none"}`;
  }

  /** Stops the server. */
  async [Symbol.asyncDispose](): Promise<void> {
    clearInterval(this.#pinger);
    this.#socket?.close();
    await this.#server.shutdown();
  }
}
