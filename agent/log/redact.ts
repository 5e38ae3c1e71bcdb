/**
 * Last-line defences for text that reaches a log or an error message:
 * presigned URL query strings (X-Amz-Signature, X-Amz-Credential, ...) and
 * URL userinfo are cut out. Structural redaction (`Secret`) is the first
 * line; this catches URLs embedded in third-party error messages.
 *
 * @module
 */

const URL_WITH_QUERY = /\b((?:https?|wss?|s3):\/\/[^\s?#"'<>]*)\?[^\s#"'<>]*/gi;
const URL_USERINFO = /\b((?:[a-z][a-z0-9+.-]*):\/\/)[^\s/@"'<>]+@/gi;

/**
 * Removes URL query strings and credentials from `text`.
 *
 * @example
 * ```ts
 * import { redactText } from "./redact.ts";
 * console.assert(redactText("PUT https://s3/b/k?X-Amz-Signature=abc failed") === "PUT https://s3/b/k?<redacted> failed");
 * console.assert(redactText("postgres://u:pw@h/db") === "postgres://<redacted>@h/db");
 * ```
 */
export function redactText(text: string): string {
  return text.replace(URL_WITH_QUERY, "$1?<redacted>").replace(URL_USERINFO, "$1<redacted>@");
}

/** A URL for messages: scheme, host and path only. */
export function describeUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
  } catch {
    return "<unparseable URL>";
  }
}
