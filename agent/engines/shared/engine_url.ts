/**
 * Parsing an engine's local-mode URL: a WHATWG URL or a usage error that
 * shows the expected form (never the URL itself, which may hold a
 * password), and the password taken from the URL or else from the
 * engine's own environment variable.
 *
 * @module
 */
import { UsageError } from "../../../decrypt/errors.ts";

/** `url` parsed; a {@linkcode UsageError} naming `form` when it does not parse. */
export function parseEngineUrl(url: string, form: string): URL {
  try {
    return new URL(url);
  } catch {
    throw new UsageError(`--target ${form}: not a valid URL`);
  }
}

/** The URL's password, or else the value of the environment variable `envName`, or "". */
export function passwordOf(
  parsed: URL,
  envName: string,
  env: (name: string) => string | undefined,
): string {
  return parsed.password ? decodeURIComponent(parsed.password) : env(envName) ?? "";
}
