/**
 * The decryption token: a JWT from the control plane that carries the DEK
 * of one backup (docs/backup-format.md section 4).
 *
 * The signature is not checked: the server signs with HS256 and its secret
 * never leaves the server, so no offline tool can verify it. What is
 * checked is every claim the format needs.
 *
 * @module
 */
import { decodeBase64, type Dek, dekFromBytes } from "./dek.ts";
import { KeyError, TokenError } from "./errors.ts";

/** The only issuer a token may have. */
export const TOKEN_ISSUER = "backupy-server";
/** The audience a token must name. */
export const TOKEN_AUDIENCE = "backupy-decrypt";
/** Seconds of clock skew tolerated on `exp`. */
export const EXPIRY_LEEWAY_SECONDS = 60;

/** The claims of a valid token, as this tool uses them. */
export interface DecryptionToken {
  /** The run the backup belongs to. */
  runId: string;
  /** The `sub` claim (who asked for the token). */
  subject: string;
  /** The company that owns the backup. */
  companyId: string;
  /** The 32-byte DEK. */
  dek: Dek;
  /** Lowercase hex SHA-256 of the whole encrypted file, when the token has one. */
  sha256?: string;
  /** When the token expires (`exp`). */
  expiresAt: Date;
}

function requiredString(claims: Record<string, unknown>, name: string): string {
  const value = claims[name];
  if (typeof value !== "string" || value === "") {
    throw new TokenError(`token has no ${name} claim (a non-empty string is required)`);
  }
  return value;
}

function decodePayload(segment: string): Record<string, unknown> {
  let json: unknown;
  try {
    const text = new TextDecoder("utf-8", { fatal: true }).decode(
      decodeBase64(segment.replace(/=+$/, ""), "token payload"),
    );
    json = JSON.parse(text);
  } catch {
    throw new TokenError(
      "token payload is not base64url-encoded JSON: is this a decryption token?",
    );
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw new TokenError("token payload is not a JSON object");
  }
  return json as Record<string, unknown>;
}

function checkAudience(aud: unknown): void {
  const audiences = Array.isArray(aud) ? aud : [aud];
  if (!audiences.includes(TOKEN_AUDIENCE)) {
    throw new TokenError(
      `token audience is ${
        JSON.stringify(aud ?? null)
      }, expected "${TOKEN_AUDIENCE}": this token is not for backupy-decrypt`,
    );
  }
}

/**
 * Parses and validates a token's claims (not its expiry: see
 * {@linkcode checkTokenExpiry}). Throws {@linkcode TokenError} naming the
 * claim that is wrong; the DEK is never part of a message.
 */
export function parseToken(jwt: string): DecryptionToken {
  const parts = jwt.trim().split(".");
  if (parts.length !== 3 || parts[1] === "") {
    throw new TokenError("token is not a JWT: expected three dot-separated parts");
  }
  const claims = decodePayload(parts[1]);

  if (claims.iss !== TOKEN_ISSUER) {
    throw new TokenError(
      `token issuer is ${
        JSON.stringify(claims.iss ?? null)
      }, expected "${TOKEN_ISSUER}": not a Backupy decryption token`,
    );
  }
  checkAudience(claims.aud);
  if (typeof claims.exp !== "number" || !Number.isFinite(claims.exp)) {
    throw new TokenError("token has no exp claim (expiry, a number of unix seconds is required)");
  }
  const subject = requiredString(claims, "sub");
  const runId = requiredString(claims, "run_id");
  const companyId = requiredString(claims, "company_id");

  if (typeof claims.alg !== "string" || claims.alg.toUpperCase() !== "AES-256-GCM") {
    throw new TokenError(
      `token alg is ${JSON.stringify(claims.alg ?? null)}, expected "AES-256-GCM"`,
    );
  }
  const version = claims.format_version;
  if (version !== 1) {
    const hint = typeof version === "number" && Number.isInteger(version) && version > 1
      ? ": this backupy-decrypt reads format 1 only; use a newer version"
      : ": only format 1 exists";
    throw new TokenError(
      `token format_version is ${JSON.stringify(version ?? null)}, expected 1${hint}`,
    );
  }
  if (typeof claims.dek !== "string" || claims.dek === "") {
    throw new TokenError("token has no dek claim (base64 of the 32-byte key is required)");
  }
  let dek: Dek;
  try {
    dek = dekFromBytes(decodeBase64(claims.dek, "token dek"), "token dek");
  } catch (error) {
    if (error instanceof KeyError) throw new TokenError(error.message);
    throw error;
  }
  let sha256: string | undefined;
  if (claims.sha256 !== undefined && claims.sha256 !== "") {
    if (typeof claims.sha256 !== "string" || !/^[0-9a-fA-F]{64}$/.test(claims.sha256)) {
      throw new TokenError("token sha256 claim is not 64 hex characters");
    }
    sha256 = claims.sha256.toLowerCase();
  }
  return { runId, subject, companyId, dek, sha256, expiresAt: new Date(claims.exp * 1000) };
}

/**
 * Throws when the token expired more than 60 s before `now`, unless
 * `allowExpired`: the DEK inside stays valid, but a 15-minute token often
 * cannot reach an air-gapped machine in time, so the user may choose.
 */
export function checkTokenExpiry(token: DecryptionToken, now: Date, allowExpired: boolean): void {
  const lateMs = now.getTime() - token.expiresAt.getTime();
  if (lateMs <= EXPIRY_LEEWAY_SECONDS * 1000 || allowExpired) return;
  throw new TokenError(
    `token expired at ${token.expiresAt.toISOString()} (${formatAgo(lateMs)} ago); ` +
      "the key inside is still valid: pass --allow-expired to use it anyway",
  );
}

function formatAgo(ms: number): string {
  const minutes = Math.floor(ms / 60_000);
  if (minutes < 120) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours} h`;
  return `${Math.floor(hours / 24)} days`;
}
