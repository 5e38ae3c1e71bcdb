/**
 * Greps output for secrets: the agent key, DEKs, passwords and presigned
 * URL signatures must never appear in a log line, an error or a metric.
 */
import { AssertionError } from "node:assert";

/** Fails if any of `secrets` (or a URL's signature) appears in `lines`. */
export function assertNoSecrets(lines: string[], secrets: string[]): void {
  const needles = new Set<string>();
  for (const secret of secrets) {
    if (secret.length < 8) continue;
    needles.add(secret);
    try {
      const url = new URL(secret);
      for (const [name, value] of url.searchParams) {
        if (/signature|credential|security-token/i.test(name) && value.length >= 8) {
          needles.add(value);
        }
      }
      if (url.search.length > 8) needles.add(url.search.slice(1));
    } catch {
      // Not a URL.
    }
  }
  for (const line of lines) {
    for (const needle of needles) {
      if (line.includes(needle)) {
        throw new AssertionError({ message: `a secret appeared in output: ${line.slice(0, 300)}` });
      }
    }
    if (/X-Amz-Signature=[0-9a-f]{16}/i.test(line)) {
      throw new AssertionError({
        message: `a presigned URL signature appeared in output: ${line.slice(0, 300)}`,
      });
    }
  }
}
