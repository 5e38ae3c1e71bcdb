/**
 * Liveness of a connection (docs/wire-protocol.md section 3): when nothing
 * has come from the server for `limitMs`, the connection is dead. One
 * timer, set for the moment the silence would reach the limit and moved on
 * when it finds that data came meanwhile, so a live connection is checked
 * about once per limit instead of polled.
 *
 * @module
 */

/**
 * Calls `onSilent` once when `lastDataAt()` (epoch ms) is more than
 * `limitMs` ago. Returns the function that stops watching.
 */
export function watchSilence(
  lastDataAt: () => number,
  limitMs: number,
  onSilent: () => void,
): () => void {
  let timer: ReturnType<typeof setTimeout>;
  const check = () => {
    const silentMs = Date.now() - lastDataAt();
    if (silentMs > limitMs) return onSilent();
    timer = setTimeout(check, limitMs - silentMs + 1);
  };
  timer = setTimeout(check, Math.max(0, limitMs - (Date.now() - lastDataAt()) + 1));
  return () => clearTimeout(timer);
}
