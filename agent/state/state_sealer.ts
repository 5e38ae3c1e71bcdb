/**
 * Seals secrets at rest in the state store (docs/backup-format.md section 7):
 * AES-256-GCM under a key derived with HKDF-SHA256 from the agent key;
 * sealed value = `01 | nonce(12) | ciphertext | tag`. Unlike the Go agent,
 * each value is bound to its place: the AAD is the table name and the row
 * key, so sealed values cannot be swapped between rows.
 *
 * The values are small (configs, run requests, outbox messages), so the
 * synchronous `node:crypto` keeps the store's API synchronous.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { createCipheriv, createDecipheriv, hkdfSync, randomFillSync } from "node:crypto";
import type { Secret } from "../../decrypt/secret.ts";

const VERSION = 0x01;
const NONCE_SIZE = 12;
const TAG_SIZE = 16;
const SALT = "backupy-agent-state-salt";
const INFO = "backupy-agent/state-v1";

/** A sealed value could not be opened: another agent key, or tampering. */
export class UnsealError extends Error {}

/** Derives the 32-byte state key from the agent key (HKDF-SHA256). */
export function deriveStateKey(agentKey: Secret<string>): Uint8Array {
  return new Uint8Array(
    hkdfSync("sha256", new TextEncoder().encode(agentKey.reveal()), SALT, INFO, 32),
  );
}

function aad(table: string, rowKey: string): Uint8Array {
  return new TextEncoder().encode(`${table}\0${rowKey}`);
}

/**
 * Seals and opens values for one agent key.
 *
 * @example
 * ```ts
 * import { StateSealer } from "./state_sealer.ts";
 * import { Secret } from "../../decrypt/secret.ts";
 * const sealer = new StateSealer(new Secret("bkpy_test_abcdefghijklmnopqrstuvwxyz012345"));
 * const sealed = sealer.seal("kv", "config", new Uint8Array([1, 2]));
 * console.assert(sealer.open("kv", "config", sealed).length === 2);
 * ```
 */
export class StateSealer {
  readonly #key: Uint8Array;

  /** A sealer for `agentKey`. */
  constructor(agentKey: Secret<string>) {
    this.#key = deriveStateKey(agentKey);
  }

  /** Seals `plain` for the row `rowKey` of `table`. */
  seal(table: string, rowKey: string, plain: Uint8Array): Uint8Array {
    const nonce = randomFillSync(new Uint8Array(NONCE_SIZE));
    const cipher = createCipheriv("aes-256-gcm", this.#key, nonce);
    cipher.setAAD(aad(table, rowKey));
    const body = Buffer.concat([cipher.update(plain), cipher.final()]);
    const out = new Uint8Array(1 + NONCE_SIZE + body.length + TAG_SIZE);
    out[0] = VERSION;
    out.set(nonce, 1);
    out.set(body, 1 + NONCE_SIZE);
    out.set(cipher.getAuthTag(), 1 + NONCE_SIZE + body.length);
    return out;
  }

  /** Opens a value sealed for `table`/`rowKey`; throws {@linkcode UnsealError}. */
  open(table: string, rowKey: string, sealed: Uint8Array): Uint8Array {
    if (sealed.length < 1 + NONCE_SIZE + TAG_SIZE || sealed[0] !== VERSION) {
      throw new UnsealError(`${table}/${rowKey}: not a sealed value`);
    }
    const nonce = sealed.subarray(1, 1 + NONCE_SIZE);
    const body = sealed.subarray(1 + NONCE_SIZE, sealed.length - TAG_SIZE);
    const tag = sealed.subarray(sealed.length - TAG_SIZE);
    try {
      const decipher = createDecipheriv("aes-256-gcm", this.#key, nonce);
      decipher.setAAD(aad(table, rowKey));
      decipher.setAuthTag(tag);
      return new Uint8Array(Buffer.concat([decipher.update(body), decipher.final()]));
    } catch {
      throw new UnsealError(
        `${table}/${rowKey}: cannot be opened with this agent key (another key sealed it, or it was altered)`,
      );
    }
  }
}
