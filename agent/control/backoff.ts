/**
 * Reconnect delays (docs/wire-protocol.md section 3, step 7): 1 s doubling to a
 * 60 s cap, each jittered uniformly by +-20%.
 *
 * @module
 */

/** Backoff parameters; tests shrink them. */
export interface BackoffOptions {
  initialMs?: number;
  capMs?: number;
  jitter?: number;
  /** Uniform in [0, 1). */
  random?: () => number;
}

/**
 * The delay sequence.
 *
 * @example
 * ```ts
 * import { Backoff } from "./backoff.ts";
 * const backoff = new Backoff({ random: () => 0.5 }); // no jitter at 0.5
 * console.assert([backoff.next(), backoff.next(), backoff.next()].join() === "1000,2000,4000");
 * ```
 */
export class Backoff {
  readonly #initial: number;
  readonly #cap: number;
  readonly #jitter: number;
  readonly #random: () => number;
  #step = 0;

  /** A fresh sequence. */
  constructor(options: BackoffOptions = {}) {
    this.#initial = options.initialMs ?? 1000;
    this.#cap = options.capMs ?? 60_000;
    this.#jitter = options.jitter ?? 0.2;
    this.#random = options.random ?? Math.random;
  }

  /** The next delay in ms. */
  next(): number {
    const base = Math.min(this.#cap, this.#initial * 2 ** this.#step);
    if (base < this.#cap) this.#step++;
    return this.#jittered(base);
  }

  /** A delay at the cap (used after the key was rejected: never spin). */
  atCap(): number {
    return this.#jittered(this.#cap);
  }

  /** Back to the first delay. */
  reset(): void {
    this.#step = 0;
  }

  #jittered(base: number): number {
    return Math.round(base * (1 + this.#jitter * (2 * this.#random() - 1)));
  }
}
