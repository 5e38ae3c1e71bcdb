/**
 * Seeded, time-bounded fuzzing of everything that reads untrusted input:
 * v1 files, the compressed stream inside them, and tokens. The only
 * acceptable outcomes are success or a typed BackupyError; never another
 * exception, never a hang.
 */
import { assert } from "../support/assert.ts";
import { aesKey, compress, encryptV1, makeToken, tokenClaims } from "../support/v1_fixtures.ts";
import { decryptBackup } from "../../decrypt/decrypt_backup.ts";
import { BackupyError } from "../../decrypt/errors.ts";
import { parseToken } from "../../decrypt/token.ts";

const SEED = Number(Deno.env.get("BACKUPY_FUZZ_SEED") ?? 20261126);
const BUDGET_MS = Number(Deno.env.get("BACKUPY_FUZZ_MS") ?? 4000);
const PER_CASE_LIMIT_MS = 5000;

/** xorshift32: repeatable from the seed. */
function rng(seed: number) {
  let x = seed >>> 0 || 1;
  return (n: number) => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) % n;
  };
}

function mutate(input: Uint8Array, next: (n: number) => number): Uint8Array {
  let data = input.slice();
  const edits = 1 + next(4);
  for (let e = 0; e < edits; e++) {
    switch (next(6)) {
      case 0: // flip a bit
        if (data.length > 0) data[next(data.length)] ^= 1 << next(8);
        break;
      case 1: // truncate
        data = data.subarray(0, next(data.length + 1));
        break;
      case 2: { // insert random bytes
        const at = next(data.length + 1);
        const extra = Uint8Array.from({ length: 1 + next(40) }, () => next(256));
        data = new Uint8Array([...data.subarray(0, at), ...extra, ...data.subarray(at)]);
        break;
      }
      case 3: { // duplicate a range
        const from = next(data.length + 1);
        const to = Math.min(data.length, from + next(2000));
        data = new Uint8Array([...data, ...data.subarray(from, to)]);
        break;
      }
      case 4: // overwrite a 4-byte big-endian value (frame lengths live here)
        if (data.length >= 4) {
          new DataView(data.buffer, data.byteOffset).setUint32(
            next(data.length - 3),
            [0, 27, 28, 1_048_604, 1_048_605, 0xffffffff][next(6)],
          );
        }
        break;
      default: // delete a range
        {
          const from = next(data.length + 1);
          data = new Uint8Array([...data.subarray(0, from), ...data.subarray(from + next(100))]);
        }
        break;
    }
  }
  return data;
}

async function outcome(work: () => Promise<unknown>, label: string): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`hang: ${label}`)), PER_CASE_LIMIT_MS);
  });
  try {
    await Promise.race([work(), hang]);
  } catch (error) {
    assert(error instanceof BackupyError, `${label}: ${(error as Error)?.stack ?? error}`);
  } finally {
    clearTimeout(timer);
  }
}

const sample = new TextEncoder().encode("COPY t (a, b) FROM stdin;\n1\tx\n\\.\n".repeat(3000));

Deno.test(`fuzz: mutated v1 files and compressed streams (seed ${SEED})`, async () => {
  const next = rng(SEED);
  const key = await aesKey();
  const packedZstd = compress(sample, "zstd");
  const packedGzip = compress(sample, "gzip");
  const wholeFile = await encryptV1(packedZstd);
  const started = performance.now();
  let cases = 0;
  while (performance.now() - started < BUDGET_MS) {
    cases++;
    const choice = next(3);
    let enc: Uint8Array;
    if (choice === 0) {
      enc = mutate(wholeFile, next); // the frame layer
    } else {
      // The compressed layer, behind valid frames.
      enc = await encryptV1(mutate(choice === 1 ? packedZstd : packedGzip, next));
    }
    const chunk = 1 + next(100_000);
    const pieces: Uint8Array[] = [];
    for (let at = 0; at < enc.length; at += chunk) pieces.push(enc.subarray(at, at + chunk));
    await outcome(
      () =>
        decryptBackup(ReadableStream.from(pieces), new WritableStream(), {
          key,
          decompress: true,
        }),
      `case ${cases} (seed ${SEED})`,
    );
  }
  assert(cases > 10, `only ${cases} cases ran`);
});

Deno.test(`fuzz: mutated tokens (seed ${SEED})`, () => {
  const next = rng(SEED + 1);
  const token = makeToken(tokenClaims({ sha256: "ab".repeat(32) }));
  const alphabet = 'ABCabc0189-_.=+/ {}":,';
  for (let i = 0; i < 3000; i++) {
    const chars = [...token];
    for (let e = 0; e <= next(3); e++) {
      const at = next(chars.length);
      if (next(2) === 0) chars[at] = alphabet[next(alphabet.length)];
      else chars.splice(at, 1 + next(5));
    }
    try {
      parseToken(chars.join(""));
    } catch (error) {
      assert(error instanceof BackupyError, `token case ${i}: ${(error as Error)?.stack}`);
    }
  }
});
