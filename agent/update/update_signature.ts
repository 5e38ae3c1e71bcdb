/**
 * The signature on a self-update binary (docs/agent.md section 11): ECDSA P-256
 * over the binary's SHA-256, checked with Web Crypto against a public key
 * built into the agent. `cosign sign-blob --key` writes exactly that, as a
 * DER signature in base64; Web Crypto wants the raw r||s form, so both
 * (and their base64 text) are accepted.
 *
 * @module
 */

/** A signature that cannot be read at all. */
export class SignatureFormatError extends Error {}

/** DER `SEQUENCE { INTEGER r, INTEGER s }` -> 64 bytes r||s. */
function derToRaw(der: Uint8Array): Uint8Array {
  const fail = () => {
    throw new SignatureFormatError("the signature is not a DER ECDSA signature");
  };
  let at = 0;
  const length = () => {
    let n = der[at++];
    if (n & 0x80) {
      const count = n & 0x7f;
      if (count > 2) fail();
      n = 0;
      for (let i = 0; i < count; i++) n = (n << 8) | der[at++];
    }
    return n;
  };
  if (der[at++] !== 0x30) fail();
  if (length() !== der.length - at) fail();
  const out = new Uint8Array(64);
  for (const offset of [0, 32]) {
    if (der[at++] !== 0x02) fail();
    let size = length();
    let start = at;
    at += size;
    if (at > der.length) fail();
    // Drop the sign byte (and any other leading zeros); then left-pad to 32.
    while (size > 32 && der[start] === 0) {
      start++;
      size--;
    }
    if (size > 32) fail();
    out.set(der.subarray(start, start + size), offset + 32 - size);
  }
  if (at !== der.length) fail();
  return out;
}

/** The raw 64-byte signature from raw, DER, or base64 text of either. */
export function rawSignature(signature: Uint8Array): Uint8Array {
  if (signature.length === 64) return signature;
  // A DER SEQUENCE says its own length; base64 text may start with "0" (0x30) too, even
  // followed by the byte that would be that length ("0W" before 87 more characters).
  if (signature[0] === 0x30 && signature[1] === signature.length - 2) {
    try {
      return derToRaw(signature);
    } catch (error) {
      if (!(error instanceof SignatureFormatError)) throw error;
    }
  }
  const text = new TextDecoder().decode(signature).trim();
  if (/^[A-Za-z0-9+/=\s]+$/.test(text) && text.length > 0) {
    let decoded: Uint8Array;
    try {
      decoded = Uint8Array.fromBase64(text.replace(/\s+/g, ""));
    } catch {
      throw new SignatureFormatError("the signature is not valid base64");
    }
    if (decoded.length === 64) return decoded;
    if (decoded[0] === 0x30) return derToRaw(decoded);
  }
  throw new SignatureFormatError(
    `the signature is ${signature.length} bytes: neither raw (64), DER nor base64 of either`,
  );
}

/** Imports a P-256 public key given as base64 SPKI (a PEM body). */
export function importPublicKey(spkiBase64: string): Promise<CryptoKey> {
  const body = spkiBase64.replace(/-----[^-]+-----/g, "").replace(/\s+/g, "");
  return crypto.subtle.importKey(
    "spki",
    Uint8Array.fromBase64(body),
    { name: "ECDSA", namedCurve: "P-256" },
    false,
    ["verify"],
  );
}

/** Whether `signature` is the key's ECDSA P-256/SHA-256 signature of `data`. */
export async function verifySignature(
  key: CryptoKey,
  signature: Uint8Array,
  data: Uint8Array<ArrayBuffer>,
): Promise<boolean> {
  const raw = rawSignature(signature);
  return await crypto.subtle.verify(
    { name: "ECDSA", hash: "SHA-256" },
    key,
    raw as Uint8Array<ArrayBuffer>,
    data,
  );
}
