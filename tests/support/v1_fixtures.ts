/**
 * Builders for v1 test files and decryption tokens, made with the project's
 * own encryptor (the known-answer vectors in tests/fixtures/v1 cover an
 * independent implementation).
 */
import { constants, gzipSync, zstdCompressSync } from "node:zlib";
import { createHash } from "node:crypto";
import { FrameEncryptStream } from "../../decrypt/frame_encrypt_stream.ts";

/** The key every fixture uses unless told otherwise: bytes 0x00..0x1f. */
export const TEST_DEK: Uint8Array<ArrayBuffer> = Uint8Array.from({ length: 32 }, (_, i) => i);

/** Imports `dek` as an AES-GCM key. */
export function aesKey(dek: Uint8Array<ArrayBuffer> = TEST_DEK): Promise<CryptoKey> {
  return crypto.subtle.importKey("raw", dek, "AES-GCM", false, ["encrypt", "decrypt"]);
}

/** `length` pseudo-random bytes from a seed (repeatable, fast). */
export function seededBytes(length: number, seed = 1): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** Compresses like the agent: zstd level 3 with checksum, gzip, or nothing. */
export function compress(plain: Uint8Array, compression: "zstd" | "gzip" | "none"): Uint8Array {
  if (compression === "none" || plain.length === 0) return plain;
  if (compression === "gzip") return new Uint8Array(gzipSync(plain));
  return new Uint8Array(zstdCompressSync(plain, {
    params: { [constants.ZSTD_c_compressionLevel]: 3, [constants.ZSTD_c_checksumFlag]: 1 },
  }));
}

/** Encrypts `plain` into a v1 file, feeding it in `chunkSize` pieces. */
export async function encryptV1(
  plain: Uint8Array,
  options: { dek?: Uint8Array<ArrayBuffer>; chunkSize?: number } = {},
): Promise<Uint8Array> {
  const key = await aesKey(options.dek);
  const chunkSize = options.chunkSize ?? 65536;
  const pieces: Uint8Array[] = [];
  for (let at = 0; at < plain.length; at += chunkSize) {
    pieces.push(plain.subarray(at, at + chunkSize));
  }
  const out = ReadableStream.from(pieces).pipeThrough(new FrameEncryptStream(key));
  return await new Response(out).bytes();
}

/** Lowercase hex SHA-256. */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** Claims of a valid token; override any of them. */
export function tokenClaims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    iss: "backupy-server",
    aud: "backupy-decrypt",
    exp: Math.floor(Date.now() / 1000) + 900,
    iat: Math.floor(Date.now() / 1000),
    sub: "user-1",
    run_id: "run-test-1",
    company_id: "company-1",
    dek: TEST_DEK.toBase64(),
    alg: "AES-256-GCM",
    format_version: 1,
    ...overrides,
  };
}

/** A JWT with `claims` (unsigned: the signature cannot be checked offline anyway). */
export function makeToken(claims: Record<string, unknown>, options: { padded?: boolean } = {}) {
  const encode = (value: unknown) => {
    const b64 = new TextEncoder().encode(JSON.stringify(value)).toBase64({ alphabet: "base64url" });
    return options.padded ? b64 : b64.replace(/=+$/, "");
  };
  return `${encode({ alg: "HS256", typ: "JWT" })}.${encode(claims)}.c2lnbmF0dXJl`;
}

/** A complete fixture: plaintext, its v1 file, SHA-256 and a token for it. */
export async function makeBackup(
  plain: Uint8Array,
  compression: "zstd" | "gzip" | "none" = "zstd",
): Promise<{ plain: Uint8Array; enc: Uint8Array; sha256: string; token: string }> {
  const enc = await encryptV1(compress(plain, compression));
  const sha256 = sha256Hex(enc);
  return { plain, enc, sha256, token: makeToken(tokenClaims({ sha256 })) };
}
