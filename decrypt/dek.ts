/**
 * The data encryption key (DEK): 32 bytes for AES-256-GCM, always held as a
 * {@linkcode Secret} so it cannot be logged by accident.
 *
 * @module
 */
import { KeyError } from "./errors.ts";
import { Secret } from "./secret.ts";

/** DEK length in bytes (AES-256). */
export const DEK_SIZE = 32;

/** A 32-byte DEK that prints as `<redacted>`. */
export type Dek = Secret<Uint8Array<ArrayBuffer>>;

/**
 * Accepts exactly 32 bytes as a DEK; `what` names the source in the error
 * ("token dek", "RunBackup.encrypted_dek", ...). The bytes are never echoed.
 */
export function dekFromBytes(bytes: Uint8Array, what: string): Dek {
  if (bytes.length !== DEK_SIZE) {
    throw new KeyError(`${what} must be ${DEK_SIZE} bytes for AES-256-GCM, got ${bytes.length}`);
  }
  return new Secret(Uint8Array.from(bytes));
}

/**
 * Decodes base64 (standard or url-safe, with or without padding) to bytes;
 * throws a {@linkcode KeyError} naming `what` on anything else.
 */
export function decodeBase64(text: string, what: string): Uint8Array<ArrayBuffer> {
  const standard = text.replaceAll("-", "+").replaceAll("_", "/");
  try {
    return Uint8Array.fromBase64(standard, { lastChunkHandling: "loose" });
  } catch {
    throw new KeyError(`${what} is not valid base64`);
  }
}

/**
 * Reads a key file's content: 32 raw bytes, or 64 hex characters, or base64
 * of 32 bytes (surrounding whitespace ignored for the text forms).
 *
 * @example
 * ```ts
 * import { dekFromKeyFile } from "./dek.ts";
 * const hex = "00".repeat(32) + "\n";
 * console.assert(dekFromKeyFile(new TextEncoder().encode(hex)).reveal().length === 32);
 * ```
 */
export function dekFromKeyFile(content: Uint8Array): Dek {
  if (content.length === DEK_SIZE) return dekFromBytes(content, "key file");
  const text = new TextDecoder("utf-8", { fatal: false }).decode(content).trim();
  if (/^[0-9a-fA-F]{64}$/.test(text)) return new Secret(Uint8Array.fromHex(text.toLowerCase()));
  if (/^[A-Za-z0-9+/_-]+={0,2}$/.test(text)) {
    try {
      const bytes = decodeBase64(text, "key file");
      if (bytes.length === DEK_SIZE) return new Secret(bytes);
    } catch {
      // Not base64 either: the message below says what is accepted.
    }
  }
  throw new KeyError(
    `key file is not a DEK: expected 32 raw bytes, 64 hex characters or base64 of 32 bytes (file has ${content.length} bytes)`,
  );
}

/** Imports the DEK as a non-extractable AES-GCM key for encrypt and decrypt. */
export function importDek(dek: Dek): Promise<CryptoKey> {
  return crypto.subtle.importKey("raw", dek.reveal(), "AES-GCM", false, ["encrypt", "decrypt"]);
}
