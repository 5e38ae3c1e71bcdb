/**
 * The key flags shared by backupy-decrypt and `backupy-agent verify`: a
 * token (`--token`/`--token-file`, with the SHA-256 and run it names) or a
 * key file with an optional `--sha256`, resolved to the DEK and what the
 * whole file's SHA-256 must be.
 *
 * @module
 */
import { type Dek, dekFromKeyFile } from "./dek.ts";
import { BackupyError } from "./errors.ts";
import { readSmallFile } from "./small_file.ts";
import { checkTokenExpiry, parseToken } from "./token.ts";

/** What the key flags say. */
export interface KeyFlags {
  token?: string;
  tokenFile?: string;
  keyFile?: string;
  sha256?: string;
  allowExpired: boolean;
}

/** What the key flags resolve to. */
export interface KeyMaterial {
  dek: Dek;
  sha256?: string;
  runId?: string;
}

/**
 * Reads the key file or the token (exactly one must be given; the caller
 * checks that). `warn` hears about an expired token that is used anyway.
 */
export async function resolveKeyMaterial(
  flags: KeyFlags,
  warn: (line: string) => void,
): Promise<KeyMaterial> {
  let material: KeyMaterial;
  if (flags.keyFile !== undefined) {
    material = { dek: dekFromKeyFile(await readSmallFile(flags.keyFile, "key file")) };
    if (flags.sha256) material.sha256 = flags.sha256.toLowerCase();
  } else {
    const jwt = flags.token ??
      new TextDecoder().decode(await readSmallFile(flags.tokenFile!, "token file")).trimEnd();
    const token = parseToken(jwt);
    checkTokenExpiry(token, new Date(), flags.allowExpired);
    if (flags.allowExpired && token.expiresAt.getTime() < Date.now()) {
      warn(`warning: using an expired token (expired ${token.expiresAt.toISOString()})`);
    }
    material = { dek: token.dek, sha256: token.sha256, runId: token.runId };
    if (flags.sha256) {
      const given = flags.sha256.toLowerCase();
      if (material.sha256 !== undefined && material.sha256 !== given) {
        throw new BackupyError(
          "--sha256 differs from the sha256 in the token: which file is this?",
        );
      }
      material.sha256 = given;
    }
  }
  return material;
}
