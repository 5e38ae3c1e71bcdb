/**
 * Keeps several asynchronous jobs in flight and hands their results back in
 * the order they were started. The frame encryptor and decryptor use it to
 * overlap Web Crypto calls (which run on Deno's worker threads) while the
 * output stays in frame order.
 *
 * @example
 * ```ts
 * import { OrderedQueue } from "./ordered_queue.ts";
 * const queue = new OrderedQueue<number>();
 * queue.add(new Promise((r) => setTimeout(() => r(1), 5)));
 * queue.add(Promise.resolve(2));
 * const out: number[] = [];
 * await queue.drainTo(0, (n) => out.push(n));
 * console.assert(out.join() === "1,2");
 * ```
 */
export class OrderedQueue<T> {
  #jobs: Promise<T>[] = [];

  /** Jobs started and not yet handed back. */
  get size(): number {
    return this.#jobs.length;
  }

  /**
   * Adds a started job. Its rejection is marked handled here, so a failure
   * behind an earlier failure never becomes an unhandled rejection; it still
   * rejects when its turn comes in {@linkcode OrderedQueue.drainTo}.
   */
  add(job: Promise<T>): void {
    job.catch(() => {});
    this.#jobs.push(job);
  }

  /** Awaits the oldest jobs, in order, until at most `limit` remain in flight. */
  async drainTo(limit: number, emit: (result: T) => void): Promise<void> {
    while (this.#jobs.length > limit) {
      emit(await this.#jobs.shift()!);
    }
  }
}
