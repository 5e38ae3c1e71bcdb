/**
 * Benchmark: backupy-decrypt on a large v1 file against a reference
 * decryptor on Node.js + OpenSSL doing the same work (SHA-256 of the file,
 * AES-256-GCM per frame, write, fsync). Prints both throughputs, the ratio
 * and peak RSS; then ours with zstd decompression for information.
 *
 *   deno task bench            (BENCH_SIZE_MIB=512 by default)
 */
import { join } from "node:path";
import { fileSink } from "../../decrypt/file_sink.ts";
import { compressStream } from "../../decrypt/compress_stream.ts";
import { FrameEncryptStream } from "../../decrypt/frame_encrypt_stream.ts";
import { Sha256Stream } from "../../decrypt/sha256_stream.ts";
import { DECRYPT_PERMISSIONS, ROOT } from "../support/programs.ts";
import { measure, type Measurement, median } from "./measure.ts";

const SIZE_MIB = Number(Deno.env.get("BENCH_SIZE_MIB") ?? 512);
const RUNS = Number(Deno.env.get("BENCH_RUNS") ?? 3);
const KEY = Uint8Array.from({ length: 32 }, (_, i) => i * 7);

/** Writes SIZE_MIB of plaintext, compressed as asked, encrypted, to `path`. */
async function makeBackupFile(path: string, compression: "none" | "zstd"): Promise<string> {
  const key = await crypto.subtle.importKey("raw", KEY, "AES-GCM", false, ["encrypt"]);
  // Text that compresses about as well as a SQL dump (3-5x with zstd).
  const pool = new Uint8Array(8 * 1024 * 1024 + 1024 * 1024);
  let x = 12345;
  const words = [
    "INSERT",
    "INTO",
    "orders",
    "VALUES",
    "'pending'",
    "NULL",
    "2026-11-26",
    "\t",
    "\n",
  ];
  for (let at = 0; at < pool.length;) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    const r = x >>> 0;
    const piece = r % 3 === 0 ? String(r % 1000003) : words[(r >>> 8) % words.length];
    for (let i = 0; i < piece.length && at < pool.length; i++) pool[at++] = piece.charCodeAt(i);
    if (at < pool.length) pool[at++] = 32;
  }
  let emitted = 0;
  const source = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (emitted === SIZE_MIB) return controller.close();
      const offset = (emitted * 7919 * 64) % (8 * 1024 * 1024);
      emitted++;
      controller.enqueue(pool.slice(offset, offset + 1024 * 1024));
    },
  });
  const hasher = new Sha256Stream();
  using file = await Deno.open(path, { write: true, create: true, truncate: true });
  await source.pipeThrough(compressStream(compression)).pipeThrough(new FrameEncryptStream(key))
    .pipeThrough(hasher).pipeTo(fileSink(file));
  return hasher.hex();
}

function report(label: string, bytes: number, m: Measurement): string {
  const mbps = bytes / m.seconds / 1e6;
  return `${label.padEnd(34)} ${m.seconds.toFixed(2).padStart(7)} s  ${
    mbps.toFixed(0).padStart(5)
  } MB/s  peak RSS ${m.peakRssMiB.toFixed(0).padStart(4)} MiB`;
}

async function repeat(command: string, args: string[]): Promise<Measurement> {
  const runs: Measurement[] = [];
  for (let i = 0; i < RUNS; i++) runs.push(await measure(command, args));
  return median(runs);
}

const dir = await Deno.makeTempDir({ prefix: "backupy-bench-" });
try {
  console.log(`decrypt benchmark: ${SIZE_MIB} MiB plaintext, median of ${RUNS} runs`);
  const plainFile = join(dir, "plain.enc");
  const sha = await makeBackupFile(plainFile, "none");
  const size = (await Deno.stat(plainFile)).size;
  const keyFile = join(dir, "key");
  await Deno.writeTextFile(keyFile, KEY.toHex());
  const out = join(dir, "out");

  const reference = await repeat("node", [
    join(ROOT, "tests/bench/reference_decrypt.mjs"),
    KEY.toHex(),
    sha,
    plainFile,
    out,
  ]);
  const oursArgs = (file: string, digest: string, extra: string[]) => [
    "run",
    ...DECRYPT_PERMISSIONS,
    join(ROOT, "decrypt/main.ts"),
    "--key-file",
    keyFile,
    "--sha256",
    digest,
    "--in",
    file,
    "--out",
    out,
    "--quiet",
    ...extra,
  ];
  const ours = await repeat(Deno.execPath(), oursArgs(plainFile, sha, ["--skip-decompress"]));

  console.log(report("reference (node:crypto / OpenSSL)", size, reference));
  console.log(report("backupy-decrypt --skip-decompress", size, ours));
  console.log(
    `ratio (ours / reference time): ${(ours.seconds / reference.seconds).toFixed(2)}x ` +
      `(target <= 1.5x, peak RSS < 100 MiB)`,
  );

  const zstdFile = join(dir, "zstd.enc");
  const zstdSha = await makeBackupFile(zstdFile, "zstd");
  const zstdSize = (await Deno.stat(zstdFile)).size;
  const withZstd = await repeat(Deno.execPath(), oursArgs(zstdFile, zstdSha, []));
  console.log(
    report(
      `backupy-decrypt zstd (${(zstdSize / 2 ** 20).toFixed(0)} MiB file)`,
      SIZE_MIB * 2 ** 20,
      withZstd,
    ) +
      "  (MB/s of plaintext written)",
  );
} finally {
  await Deno.remove(dir, { recursive: true });
}
