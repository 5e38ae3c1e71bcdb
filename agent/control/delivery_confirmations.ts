/**
 * The outbox messages (docs/wire-protocol.md section 5) written on one
 * connection and not yet confirmed. A message counts as delivered once the
 * connection has stayed open `confirmMs` after it was written: a server
 * that closes the connection reads nothing still in flight. One timer
 * runs, and only while a message waits, so an idle connection is never
 * woken for it.
 *
 * @module
 */

/** Written messages waiting for their confirmation time. */
export class DeliveryConfirmations {
  readonly #waiting: { seq: bigint; at: number }[] = [];
  readonly #confirmMs: number;
  readonly #isOpen: () => boolean;
  readonly #confirmed: (seq: bigint) => void;
  #timer: ReturnType<typeof setTimeout> | undefined;

  /**
   * `confirmed(seq)` is called, in write order, for each message whose
   * connection was still open (`isOpen`) `confirmMs` after its write.
   */
  constructor(confirmMs: number, isOpen: () => boolean, confirmed: (seq: bigint) => void) {
    this.#confirmMs = confirmMs;
    this.#isOpen = isOpen;
    this.#confirmed = confirmed;
  }

  /** The message `seq` has been fully written to the socket just now. */
  written(seq: bigint): void {
    this.#waiting.push({ seq, at: Date.now() });
    if (this.#timer === undefined) this.#arm();
  }

  /** How many messages wait. */
  get waiting(): number {
    return this.#waiting.length;
  }

  /** Stops confirming (the connection is over): what waits stays in the outbox. */
  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #arm(): void {
    const due = this.#waiting[0].at + this.#confirmMs;
    this.#timer = setTimeout(() => this.#confirmDue(), Math.max(0, due - Date.now()));
  }

  #confirmDue(): void {
    this.#timer = undefined;
    if (!this.#isOpen()) return;
    const cutoff = Date.now() - this.#confirmMs;
    while (this.#waiting.length > 0 && this.#waiting[0].at <= cutoff) {
      this.#confirmed(this.#waiting.shift()!.seq);
    }
    if (this.#waiting.length > 0) this.#arm();
  }
}
