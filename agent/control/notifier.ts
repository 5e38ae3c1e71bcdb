/**
 * A wake-up signal: waiters get a promise that the next {@linkcode
 * Notifier.notify} resolves.
 *
 * @example
 * ```ts
 * import { Notifier } from "./notifier.ts";
 * const n = new Notifier();
 * const woken = n.wait();
 * n.notify();
 * await woken;
 * ```
 */
export class Notifier {
  #waiters: (() => void)[] = [];

  /** Resolves at the next notify. */
  wait(): Promise<void> {
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** Wakes every waiter. */
  notify(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }
}

/** Resolves after `ms`, or early when `signal` notifies. */
export function sleep(ms: number, wake?: Notifier): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    wake?.wait().then(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
