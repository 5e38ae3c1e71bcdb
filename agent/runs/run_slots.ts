/**
 * Run slots (docs/agent.md section 3, step 2): at most `max_parallel_jobs` runs
 * at once, and never two runs dumping the same target. Waiters are served
 * in arrival order among those whose target is free.
 *
 * @module
 */

interface Waiter {
  targetId: string;
  grant: () => void;
  signal: AbortSignal;
}

/**
 * The slots.
 *
 * @example
 * ```ts
 * import { RunSlots } from "./run_slots.ts";
 * const slots = new RunSlots(() => 1);
 * const release = await slots.acquire("t1", new AbortController().signal);
 * console.assert(!slots.available("t2"));
 * release();
 * ```
 */
export class RunSlots {
  readonly #max: () => number;
  readonly #busyTargets = new Set<string>();
  #waiters: Waiter[] = [];

  /** `max` is read at every decision (the server may change it). */
  constructor(max: () => number) {
    this.#max = max;
  }

  /** Whether a run for `targetId` would start now. */
  available(targetId: string): boolean {
    return this.#busyTargets.size < this.#max() && !this.#busyTargets.has(targetId);
  }

  /** Waits for a slot; resolves to its release function. Rejects when `signal` aborts. */
  acquire(targetId: string, signal: AbortSignal): Promise<() => void> {
    return new Promise((resolve, reject) => {
      const grant = () => {
        this.#busyTargets.add(targetId);
        let released = false;
        resolve(() => {
          if (released) return;
          released = true;
          this.#busyTargets.delete(targetId);
          this.#serve();
        });
      };
      if (this.available(targetId) && this.#waiters.length === 0) return grant();
      const waiter: Waiter = { targetId, grant, signal };
      this.#waiters.push(waiter);
      signal.addEventListener("abort", () => {
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
        reject(signal.reason);
        this.#serve();
      }, { once: true });
      this.#serve();
    });
  }

  /** Re-evaluates waiters (after a release or a change of the maximum). */
  #serve(): void {
    for (const waiter of [...this.#waiters]) {
      if (!this.available(waiter.targetId)) continue;
      this.#waiters = this.#waiters.filter((w) => w !== waiter);
      waiter.grant();
    }
  }

  /** Call after the maximum changed. */
  refresh(): void {
    this.#serve();
  }
}
