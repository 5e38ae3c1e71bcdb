/**
 * What the server sends on one connection, routed by where the handshake
 * stands (docs/wire-protocol.md section 3): the first valid Envelope is the
 * handshake's answer; commands right behind it wait until it is processed;
 * after that every Envelope goes to the dispatcher. Frames that are not an
 * Envelope are dropped and counted.
 *
 * @module
 */
import { fromBinary } from "@bufbuild/protobuf";
import { type Envelope, EnvelopeSchema } from "@backupy/gen/backup/v1/envelope_pb.ts";
import type { Logger } from "../log/logger.ts";

/** One connection's incoming Envelopes. */
export class InboundFrames {
  /** When the last frame of any kind arrived (liveness). */
  lastDataAt: number = Date.now();
  /** The first valid Envelope, or null when the connection closed (or the wait ended) first. */
  readonly first: Promise<Envelope | null>;
  #resolveFirst!: (envelope: Envelope | null) => void;
  #firstSeen = false;
  #handshakeDone = false;
  readonly #early: Envelope[] = [];
  readonly #dispatch: (envelope: Envelope) => void;
  readonly #log: Logger;
  readonly #badFrame: () => void;

  /** `dispatch` takes commands once the handshake is done. */
  constructor(dispatch: (envelope: Envelope) => void, log: Logger, badFrame: () => void) {
    this.#dispatch = dispatch;
    this.#log = log;
    this.#badFrame = badFrame;
    this.first = new Promise((resolve) => (this.#resolveFirst = resolve));
  }

  /** A binary frame from the server. */
  frame(bytes: Uint8Array): void {
    this.lastDataAt = Date.now();
    let envelope: Envelope;
    try {
      envelope = fromBinary(EnvelopeSchema, bytes);
    } catch (error) {
      this.#badFrame();
      this.#log.warn("dropped a message that is not a valid Envelope", {
        bytes: bytes.length,
        error,
      });
      return;
    }
    if (!this.#firstSeen) {
      this.#firstSeen = true;
      this.#resolveFirst(envelope);
      return;
    }
    if (!this.#handshakeDone) {
      this.#early.push(envelope);
      return;
    }
    if (envelope.payload.case === "registerAck") {
      this.#log.debug("ignored a RegisterAck after the handshake");
      return;
    }
    this.#dispatch(envelope);
  }

  /** No first Envelope is coming (the connection closed, or the wait for it ended). */
  giveUp(): void {
    this.#resolveFirst(null);
  }

  /** The handshake is processed: the commands that came right behind it go out, in order. */
  handshakeDone(): void {
    this.#handshakeDone = true;
    for (const envelope of this.#early.splice(0)) this.#dispatch(envelope);
  }
}
