/**
 * The control channel (docs/wire-protocol.md sections 2, 3 and 5): connect with
 * backoff, Register / RegisterAck, flush the durable outbox in seq order,
 * heartbeat, watch liveness, hand commands to the dispatcher, reconnect.
 * Runs are not tied to a connection: nothing here cancels work when the
 * socket drops.
 *
 * @module
 */
import { create, toBinary } from "@bufbuild/protobuf";
import { type Envelope, EnvelopeSchema } from "@backupy/gen/backup/v1/envelope_pb.ts";
import { type AgentMetrics, AgentMetricsSchema } from "@backupy/gen/backup/v1/common_pb.ts";
import { HeartbeatSchema, type Register } from "@backupy/gen/backup/v1/agent_to_server_pb.ts";
import type { Secret } from "../../decrypt/secret.ts";
import type { Logger } from "../log/logger.ts";
import type { AppliedConfig } from "../state/applied_config.ts";
import type { Outbox } from "../state/outbox.ts";
import type { StateStore } from "../state/state_store.ts";
import { AgentSocket, KeyRejectedError } from "./agent_socket.ts";
import type { ConnectionState } from "../metrics/connection_state.ts";
import { Backoff, type BackoffOptions } from "./backoff.ts";
import { DeliveryConfirmations } from "./delivery_confirmations.ts";
import { InboundFrames } from "./inbound_frames.ts";
import { Notifier, sleep } from "./notifier.ts";
import { watchSilence } from "./silence_watch.ts";

export type { ConnectionState };

/** Timings; the defaults are the spec's, tests shrink them. */
export interface SessionTiming {
  dialTimeoutMs: number;
  registerTimeoutMs: number;
  defaultHeartbeatSec: number;
  /** A session up this long resets the backoff. */
  stableSessionMs: number;
  /**
   * How long a written outbox message must be followed by a still-open
   * connection before it leaves the outbox (see #pumpOutbox).
   */
  deliveryConfirmMs: number;
  backoff: BackoffOptions;
}

const DEFAULT_TIMING: SessionTiming = {
  dialTimeoutMs: 15_000,
  registerTimeoutMs: 15_000,
  defaultHeartbeatSec: 30,
  stableSessionMs: 60_000,
  deliveryConfirmMs: 3000,
  backoff: {},
};

/** What the session reports to metrics and the health endpoint. */
export interface SessionObserver {
  state?(state: ConnectionState): void;
  reconnect?(): void;
  keyRejected?(): void;
  badFrame?(): void;
  heartbeat?(atMs: number): void;
}

/** What the session needs. */
export interface ControlSessionOptions {
  url: string;
  agentKey: Secret<string>;
  log: Logger;
  store: StateStore;
  outbox: Outbox;
  config: AppliedConfig;
  /** The Register message for a new connection. */
  register(): Promise<Register>;
  /** Host metrics and active job ids for a heartbeat. */
  heartbeat(): Promise<{ metrics: AgentMetrics; activeJobIds: string[] }>;
  /** A server command after the handshake; replies go through `send`. */
  dispatch(envelope: Envelope): void;
  observer?: SessionObserver;
  timing?: Partial<SessionTiming>;
}

/** How one connection ended. */
interface SessionOutcome {
  handshake: boolean;
  upMs: number;
  keyRejected: boolean;
}

/** The control channel's lifecycle. */
export class ControlSession {
  readonly #o: ControlSessionOptions;
  readonly #timing: SessionTiming;
  readonly #backoff: Backoff;
  readonly #wake = new Notifier();
  #stopping = false;
  #socket: AgentSocket | null = null;
  #ready = false;
  #held: Uint8Array[] = [];
  #loop: Promise<void> | null = null;
  #keyRejectedLogged = false;
  #sessionId = "";

  /** A session that starts on {@linkcode ControlSession.start}. */
  constructor(options: ControlSessionOptions) {
    this.#o = options;
    this.#timing = { ...DEFAULT_TIMING, ...options.timing };
    this.#backoff = new Backoff(this.#timing.backoff);
  }

  /** The server's session id of the current connection. */
  get sessionId(): string {
    return this.#sessionId;
  }

  /** Whether the handshake is done and the outbox flushed on a live connection. */
  get ready(): boolean {
    return this.#ready && (this.#socket?.isOpen ?? false);
  }

  /** Starts connecting (the first dial is immediate). */
  start(): void {
    this.#loop ??= this.#run();
  }

  /**
   * Stops: waits up to `flushMs` for the outbox to drain on a live
   * connection, then closes with 1000.
   */
  async stop(flushMs = 5000): Promise<void> {
    const deadline = Date.now() + flushMs;
    while (this.ready && this.#o.outbox.depth > 0 && Date.now() < deadline) {
      await sleep(20);
    }
    this.#stopping = true;
    this.#wake.notify();
    this.#socket?.close(1000, "agent shutting down");
    await this.#loop;
  }

  /**
   * Sends a message that does not go through the outbox (Heartbeat, Ack):
   * with a fresh seq, after any outbox flush in progress; dropped when no
   * connection is up (neither is worth keeping).
   */
  send(payload: Envelope["payload"], correlationId = ""): void {
    const socket = this.#socket;
    if (!socket?.isOpen) return;
    const envelope = create(EnvelopeSchema, {
      seq: this.#o.store.nextSeq(),
      tsMs: BigInt(Date.now()),
      correlationId,
      payload,
    });
    const bytes = toBinary(EnvelopeSchema, envelope);
    if (this.#ready) void socket.send(bytes);
    else this.#held.push(bytes);
  }

  async #run(): Promise<void> {
    const observer = this.#o.observer;
    let delay = 0;
    while (!this.#stopping) {
      if (delay > 0) {
        observer?.state?.("reconnecting");
        await sleep(delay, this.#wake);
        if (this.#stopping) break;
      }
      const outcome = await this.#connectOnce();
      if (this.#stopping) break;
      observer?.reconnect?.();
      observer?.state?.("reconnecting");
      if (outcome.keyRejected) {
        delay = this.#backoff.atCap();
      } else {
        if (outcome.handshake && outcome.upMs >= this.#timing.stableSessionMs) {
          this.#backoff.reset();
        }
        delay = this.#backoff.next();
      }
    }
    observer?.state?.("disconnected");
  }

  /** One connection, top-down: dial, handshake, then serve until it closes. */
  async #connectOnce(): Promise<SessionOutcome> {
    const outcome: SessionOutcome = { handshake: false, upMs: 0, keyRejected: false };
    const inbound = new InboundFrames(
      (envelope) => this.#o.dispatch(envelope),
      this.#o.log,
      () => this.#o.observer?.badFrame?.(),
    );
    const outboxSignal = new Notifier();
    const unsubscribe = this.#o.outbox.onEnqueue(() => outboxSignal.notify());
    const socket = await this.#dial(inbound, outboxSignal, outcome);
    if (!socket) {
      unsubscribe();
      return outcome;
    }
    this.#socket = socket;
    this.#ready = false;
    this.#held = [];
    const connectedAt = Date.now();
    const stops: (() => void)[] = [];
    try {
      const heartbeatSec = await this.#handshake(socket, inbound);
      if (heartbeatSec === undefined) return outcome;
      outcome.handshake = true;
      await this.#serve(socket, inbound, outboxSignal, heartbeatSec, stops);
      return outcome;
    } finally {
      for (const stop of stops) stop();
      unsubscribe();
      socket.close();
      this.#ready = false;
      this.#socket = null;
      outcome.upMs = Date.now() - connectedAt;
    }
  }

  /** Opens the socket with the agent key; null (and why, in `outcome` and the log) when it fails. */
  async #dial(
    inbound: InboundFrames,
    outboxSignal: Notifier,
    outcome: SessionOutcome,
  ): Promise<AgentSocket | null> {
    const log = this.#o.log;
    try {
      return await AgentSocket.connect(
        this.#o.url,
        this.#o.agentKey,
        this.#timing.dialTimeoutMs,
        {
          onBinary: (bytes) => inbound.frame(bytes),
          onText: (length) => log.debug("ignored a text message from the server", { length }),
          onOversize: () => log.warn("server message over 4 MiB: closing with 1009"),
          onClose: (code, reason) => {
            inbound.giveUp();
            outboxSignal.notify();
            log.info("connection closed", { code, reason });
          },
        },
      );
    } catch (error) {
      if (error instanceof KeyRejectedError) {
        this.#o.observer?.keyRejected?.();
        if (!this.#keyRejectedLogged) {
          log.error(
            "agent key rejected by server: check BACKUPY_AGENT_KEY; retrying every minute",
            { status: error.status },
          );
          this.#keyRejectedLogged = true;
        }
        outcome.keyRejected = true;
      } else {
        log.warn("cannot connect to the control plane", { error });
      }
      return null;
    }
  }

  /**
   * Register, then the first data message must be RegisterAck: its session
   * id, config and heartbeat interval are taken, and the commands that came
   * right behind it go to the dispatcher. The heartbeat interval, or
   * undefined when the handshake failed (the socket is then closed).
   */
  async #handshake(socket: AgentSocket, inbound: InboundFrames): Promise<number | undefined> {
    const log = this.#o.log;
    const register = await this.#o.register();
    void socket.send(
      toBinary(
        EnvelopeSchema,
        create(EnvelopeSchema, {
          seq: this.#o.store.nextSeq(),
          tsMs: BigInt(Date.now()),
          payload: { case: "register", value: register },
        }),
      ),
    );
    const registerTimer = setTimeout(() => inbound.giveUp(), this.#timing.registerTimeoutMs);
    const ack = await inbound.first;
    clearTimeout(registerTimer);
    if (!socket.isOpen) return undefined;
    if (ack?.payload.case !== "registerAck") {
      log.warn(
        ack
          ? "the server's first message was not RegisterAck: closing"
          : "no RegisterAck in time: closing",
        { got: ack?.payload.case },
      );
      socket.close(1008, "expected RegisterAck");
      await socket.closed;
      return undefined;
    }
    this.#keyRejectedLogged = false;
    const registerAck = ack.payload.value;
    this.#sessionId = registerAck.sessionId;
    if (registerAck.config) {
      const applied = this.#o.config.offer(registerAck.config);
      if (!applied) {
        log.info("the server's config is older than the applied one: kept ours", {
          offered: registerAck.config.version,
          applied: this.#o.config.version,
        });
      }
    }
    const heartbeatSec = registerAck.heartbeatIntervalSec > 0
      ? registerAck.heartbeatIntervalSec
      : this.#timing.defaultHeartbeatSec;
    inbound.handshakeDone();
    this.#o.observer?.state?.("connected");
    log.info("registered with the control plane", {
      session_id: registerAck.sessionId,
      heartbeat_interval_sec: heartbeatSec,
    });
    return heartbeatSec;
  }

  /**
   * Flushes the outbox, then heartbeats and normal traffic until the socket
   * closes; no data for 3 heartbeat intervals means the connection is dead.
   */
  async #serve(
    socket: AgentSocket,
    inbound: InboundFrames,
    outboxSignal: Notifier,
    heartbeatSec: number,
    stops: (() => void)[],
  ): Promise<void> {
    const pump = this.#pumpOutbox(socket, outboxSignal, () => {
      this.#ready = true;
      for (const bytes of this.#held) void socket.send(bytes);
      this.#held = [];
      void this.#sendHeartbeat();
      const heartbeats = setInterval(() => void this.#sendHeartbeat(), heartbeatSec * 1000);
      stops.push(() => clearInterval(heartbeats));
    });
    stops.push(watchSilence(() => inbound.lastDataAt, 3 * heartbeatSec * 1000, () => {
      this.#o.log.warn("no data from the server for 3 heartbeat intervals: reconnecting", {
        seconds: 3 * heartbeatSec,
      });
      socket.close(4000, "liveness timeout");
    }));
    await socket.closed;
    await pump;
  }

  /**
   * Sends outbox messages in seq order. A message leaves the outbox once it
   * has been fully written to the socket *and* the connection then stayed
   * open for `deliveryConfirmMs`: a server that closes the connection reads
   * nothing that was still in flight, so what was written just before a
   * close is sent again on the next connection, with its original seq
   * (servers drop duplicates by seq; a lost message cannot be recovered).
   */
  async #pumpOutbox(socket: AgentSocket, signal: Notifier, onFlushed: () => void): Promise<void> {
    const confirmations = new DeliveryConfirmations(
      this.#timing.deliveryConfirmMs,
      () => socket.isOpen,
      (seq) => this.#o.outbox.remove(seq),
    );
    let last = -1n;
    let flushed = false;
    try {
      while (socket.isOpen) {
        const batch = this.#o.outbox.pending(last, 64);
        if (batch.length === 0) {
          if (!flushed) {
            flushed = true;
            onFlushed();
          }
          const woken = signal.wait();
          // Re-check after subscribing: an enqueue may have raced the query.
          if (this.#o.outbox.pending(last, 1).length === 0 && socket.isOpen) await woken;
          continue;
        }
        for (const entry of batch) {
          if (!(await socket.send(entry.bytes))) return;
          confirmations.written(entry.seq);
          last = entry.seq;
        }
      }
    } finally {
      confirmations.stop();
    }
  }

  async #sendHeartbeat(): Promise<void> {
    try {
      const { metrics, activeJobIds } = await this.#o.heartbeat();
      this.send({
        case: "heartbeat",
        value: create(HeartbeatSchema, {
          configVersion: this.#o.config.version,
          metrics: create(AgentMetricsSchema, metrics),
          activeJobIds,
        }),
      });
      this.#o.observer?.heartbeat?.(Date.now());
    } catch (error) {
      this.#o.log.warn("heartbeat failed", { error });
    }
  }
}
