/**
 * MongoDB driver errors as messages for people: what failed, with the
 * server's code name, and never a password (a URL's credentials are cut out).
 *
 * @module
 */

/** A driver error as a message that names what failed and never a password. */
export function describeMongoError(error: unknown): string {
  const e = error as { codeName?: string; code?: number; message?: string; name?: string };
  if (e.code === 18 || e.codeName === "AuthenticationFailed") {
    return "authentication failed (check the user, password and authSource)";
  }
  const message = (e.message ?? String(error)).replace(/\/\/[^@/\s]*@/g, "//");
  return e.codeName ? `${e.codeName}: ${message}` : message;
}
