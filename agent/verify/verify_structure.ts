/**
 * `verify --level structure` (issue: restore verification): decrypt the
 * whole backup without writing it anywhere, and prove what can be proved
 * without a server - every frame authenticated, the compressed stream
 * complete with its checksum, the file's SHA-256 equal to the one the
 * token or `--sha256` gives, and the dump itself whole by its own format.
 * Every check runs even when an earlier one failed, so the report names
 * each problem; only a frame that fails authentication stops the stream.
 *
 * @module
 */
import { concatBytes } from "../../decrypt/concat_bytes.ts";
import { decryptBackup, type DecryptBackupResult } from "../../decrypt/decrypt_backup.ts";
import { BackupyError } from "../../decrypt/errors.ts";
import { ENGINES, type LoadedFormat, loadFormatChecks } from "../engines/registry.ts";
import type { FormatCheck } from "../engines/shared/format_check.ts";

/** One thing verify proved or could not prove. */
export interface VerifyCheck {
  name: "frames" | "compression" | "sha256" | "dump" | "manifest" | "restore";
  ok: boolean;
  detail: string;
}

/** What verify found. */
export interface VerifyReport {
  level: "structure" | "manifest" | "restore";
  /** True only when every check passed. */
  ok: boolean;
  /** The dump's format, when it could be told. */
  format?: string;
  checks: VerifyCheck[];
  /** Objects the format check counted (collections, tables), with digests where computed. */
  objects: { name: string; rows: number; digest?: string }[];
  encryptedBytes: number;
  dumpBytes: number;
  sha256?: string;
}

/** The SHA-256 a backup must have, and where that came from ("the token", "--sha256", a manifest). */
export interface ExpectedSha256 {
  sha256: string;
  source: string;
}

/** How many leading bytes decide the format. */
const SNIFF_BYTES = 64;

/**
 * Holds a dump's first bytes until they decide its check, then feeds that
 * check every byte: the same choice for `verify` and for a manifest read
 * from a dump as it is written.
 */
export class SniffedCheck {
  #head: Uint8Array | null = new Uint8Array(0);
  #check: FormatCheck | null = null;
  readonly #choose: (head: Uint8Array) => FormatCheck | null;

  /** `choose` picks the check for the first bytes; null feeds nothing further. */
  constructor(choose: (head: Uint8Array) => FormatCheck | null) {
    this.#choose = choose;
  }

  /** The next bytes of the dump. */
  update(chunk: Uint8Array): void {
    if (this.#check) return this.#check.update(chunk);
    if (this.#head === null) return;
    this.#head = concatBytes([this.#head, chunk]);
    if (this.#head.length >= SNIFF_BYTES) this.#decide();
  }

  /** The check, once the dump ended: chosen from what there was when it was shorter. */
  settle(): FormatCheck | null {
    if (this.#head !== null) this.#decide();
    return this.#check;
  }

  #decide(): void {
    const head = this.#head!;
    this.#head = null;
    this.#check = this.#choose(head);
    this.#check?.update(head);
  }
}

/** A check for formats this build cannot walk yet: it says so and fails the level. */
class UnsupportedCheck implements FormatCheck {
  constructor(readonly format: string, readonly why: string) {}
  update(): void {}
  finish(): string[] {
    return [this.why];
  }
}

/**
 * The check for the dump that starts with `head`, told by the same header
 * checks the engines apply while dumping (`formats` from loadFormatChecks).
 */
export function checkFor(
  head: Uint8Array,
  tempDir: string,
  formats: readonly LoadedFormat[],
  digests = true,
): FormatCheck {
  const found = formats.find(({ format }) =>
    head.length >= format.headerBytes && format.checkHeader(head) === null
  );
  if (found) return found.check(tempDir, digests);
  return new UnsupportedCheck(
    "unknown",
    head.length === 0
      ? "the backup holds an empty dump"
      : `the dump is in no format this agent writes (${ENGINES.map((e) => e.title).join(", ")})`,
  );
}

/**
 * Verifies `input` with `key` against `expected` (the token's, `--sha256`'s
 * or the manifest's SHA-256; a string when why-not explains its absence).
 * Never throws for what it finds: problems go in the report.
 */
export async function verifyStructure(
  input: ReadableStream<Uint8Array>,
  key: CryptoKey,
  expected: ExpectedSha256 | string,
  tempDir: string,
  signal?: AbortSignal,
  /** Digest every row (the manifest level needs them; structure only counts). */
  digests = false,
): Promise<VerifyReport> {
  const formats = await loadFormatChecks();
  const sniffed = new SniffedCheck((head) => checkFor(head, tempDir, formats, digests));
  let dumpBytes = 0;
  const feed = (chunk: Uint8Array) => {
    dumpBytes += chunk.length;
    sniffed.update(chunk);
  };
  const sink = new WritableStream<Uint8Array>({ write: (chunk) => feed(chunk) });

  const checks: VerifyCheck[] = [];
  let decrypted: DecryptBackupResult | undefined;
  let hasher: { bytes: number } = { bytes: 0 };
  try {
    decrypted = await decryptBackup(input, sink, {
      key,
      decompress: true,
      signal,
      onStart: (started) => void (hasher = started),
    });
  } catch (error) {
    if (!(error instanceof BackupyError)) throw error;
    const stage = /decompress|zstd|gzip/i.test(error.constructor.name + error.message)
      ? "compression"
      : "frames";
    checks.push({ name: stage, ok: false, detail: error.message });
  }
  const check = sniffed.settle()!;
  const format = check.format;
  if (decrypted) {
    checks.push({
      name: "frames",
      ok: true,
      detail: `${decrypted.frames} frames authenticated, terminator present, nothing after it`,
    });
    checks.push({
      name: "compression",
      ok: true,
      detail: decrypted.compression === "none"
        ? "not compressed"
        : `${decrypted.compression} stream complete with its checksum`,
    });
    if (typeof expected === "string") {
      checks.push({
        name: "sha256",
        ok: false,
        detail: `no SHA-256 to compare with (the file's is ${decrypted.sha256}): ${expected}; ` +
          "without it, reordered or dropped whole frames go unnoticed",
      });
    } else {
      const want = expected.sha256.toLowerCase();
      const matches = decrypted.sha256 === want;
      checks.push({
        name: "sha256",
        ok: matches,
        detail: matches
          ? `${decrypted.sha256} matches ${expected.source}`
          : `the file's SHA-256 is ${decrypted.sha256}, ${expected.source} says ${want}`,
      });
    }
    const problems = await check.finish();
    checks.push({
      name: "dump",
      ok: problems.length === 0,
      detail: problems.length === 0 ? `${format}, whole (${dumpBytes} bytes)` : problems.join("; "),
    });
  } else {
    await check.finish(); // releases what it holds (a temporary copy)
    checks.push({
      name: "dump",
      ok: false,
      detail: "not checked: the backup could not be decrypted to its end",
    });
  }
  return {
    level: "structure",
    ok: checks.every((c) => c.ok),
    format,
    checks,
    objects: check.objects?.() ?? [],
    encryptedBytes: decrypted?.encryptedBytes ?? hasher.bytes,
    dumpBytes,
    sha256: decrypted?.sha256,
  };
}
