/**
 * A value that must never reach a log line, an error message, a metric or
 * `dump-state` output: agent keys, DEKs, database passwords, presigned URLs.
 *
 * Wrapping makes redaction structural: `String(secret)`, `JSON.stringify`,
 * template literals and `Deno.inspect`/`console.log` all print `<redacted>`.
 * The value itself is reachable only through {@linkcode Secret.reveal}, so
 * every place that uses it is easy to find.
 *
 * @example
 * ```ts
 * import { Secret } from "./secret.ts";
 * const password = new Secret("hunter2");
 * console.assert(`${password}` === "<redacted>");
 * console.assert(JSON.stringify({ password }) === '{"password":"<redacted>"}');
 * console.assert(password.reveal() === "hunter2");
 * ```
 */
export class Secret<T = string> {
  readonly #value: T;

  /** Wraps `value`. */
  constructor(value: T) {
    this.#value = value;
  }

  /** The secret value. Call it only where the value is used, never to log it. */
  reveal(): T {
    return this.#value;
  }

  /** Always `<redacted>`. */
  toString(): string {
    return REDACTED;
  }

  /** Always `<redacted>`, so JSON logs cannot carry the value. */
  toJSON(): string {
    return REDACTED;
  }

  /** Always `<redacted>`, for `console.log` and `Deno.inspect`. */
  [Symbol.for("Deno.customInspect")](): string {
    return REDACTED;
  }

  /** Always `<redacted>`, for `node:util` inspect (used by npm libraries). */
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return REDACTED;
  }
}

/** What every secret prints as. */
export const REDACTED = "<redacted>";
