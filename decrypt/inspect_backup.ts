/**
 * `backupy-decrypt inspect`: describes a v1 file's structure - frames,
 * sizes, terminator, trailing bytes - without a key, and with a key also
 * authenticates every frame and names the compression inside.
 *
 * @module
 */
import { detectCompression } from "./decompress_stream.ts";
import { BackupyError, TrailingBytesError } from "./errors.ts";
import { openFrame } from "./frame_decrypt_stream.ts";
import { FrameReader } from "./frame_reader.ts";
import { Sha256Stream } from "./sha256_stream.ts";
import { FRAME_OVERHEAD } from "./v1_format.ts";

/** What `inspect` found. */
export interface InspectReport {
  /** Bytes in the file. */
  fileBytes: number;
  /** Lowercase hex SHA-256 of the whole file. */
  sha256: string;
  /** Complete frames read. */
  frames: number;
  /** Plaintext bytes the frames carry (frame lengths minus overhead). */
  plaintextBytes: number;
  /** Smallest and largest frame length seen (0 when there are no frames). */
  smallestFrame: number;
  /** Largest frame length seen. */
  largestFrame: number;
  /** Whether the end-of-stream marker was found. */
  terminator: boolean;
  /** Bytes after the end-of-stream marker. */
  trailingBytes: number;
  /** The first structural problem, if any. */
  problem?: string;
  /** With a key: frames that authenticated. */
  authenticatedFrames?: number;
  /** With a key: the compression magic of the plaintext ("neither" when unknown, "empty"). */
  compression?: "zstd" | "gzip" | "neither" | "empty";
}

/** Reads `input` to its end and reports its structure; authenticates when `key` is given. */
export async function inspectBackup(
  input: ReadableStream<Uint8Array>,
  key?: CryptoKey,
): Promise<InspectReport> {
  const reader = new FrameReader();
  const hasher = new Sha256Stream();
  const report: InspectReport = {
    fileBytes: 0,
    sha256: "",
    frames: 0,
    plaintextBytes: 0,
    smallestFrame: 0,
    largestFrame: 0,
    terminator: false,
    trailingBytes: 0,
  };
  let trailingFrom = -1;
  let firstPlain: Uint8Array | null = null;
  for await (const chunk of input.pipeThrough(hasher)) {
    report.fileBytes += chunk.length;
    if (report.problem !== undefined) continue;
    try {
      for (const frame of reader.push(chunk)) {
        const length = frame.body.length;
        report.frames++;
        report.plaintextBytes += length - FRAME_OVERHEAD;
        report.smallestFrame = report.frames === 1
          ? length
          : Math.min(report.smallestFrame, length);
        report.largestFrame = Math.max(report.largestFrame, length);
        if (key) {
          const plain = await openFrame(key, frame);
          report.authenticatedFrames = (report.authenticatedFrames ?? 0) + 1;
          if (firstPlain === null && plain.length > 0) firstPlain = plain.subarray(0, 4);
        }
      }
    } catch (error) {
      if (!(error instanceof BackupyError)) throw error;
      report.problem = error.message;
      if (error instanceof TrailingBytesError) trailingFrom = error.offset;
    }
  }
  if (report.problem === undefined) {
    try {
      reader.finish();
    } catch (error) {
      if (!(error instanceof BackupyError)) throw error;
      report.problem = error.message;
    }
  }
  report.terminator = reader.terminated;
  if (trailingFrom >= 0) report.trailingBytes = report.fileBytes - trailingFrom;
  report.sha256 = hasher.hex();
  if (key && report.authenticatedFrames === report.frames) {
    report.compression = firstPlain === null ? "empty" : detectCompression(firstPlain) ?? "neither";
  }
  return report;
}

/** The report as the lines `inspect` prints. */
export function formatInspectReport(report: InspectReport): string[] {
  const lines = [
    `file size:        ${report.fileBytes} bytes`,
    `sha256:           ${report.sha256}`,
    `frames:           ${report.frames}` +
    (report.frames > 0 ? ` (frame lengths ${report.smallestFrame}..${report.largestFrame})` : ""),
    `plaintext bytes:  ${report.plaintextBytes}`,
    `terminator:       ${report.terminator ? "present" : "missing"}`,
    `trailing bytes:   ${report.trailingBytes}`,
  ];
  if (report.authenticatedFrames !== undefined) {
    lines.push(`authenticated:    ${report.authenticatedFrames} of ${report.frames} frames`);
  }
  if (report.compression !== undefined) lines.push(`compression:      ${report.compression}`);
  lines.push(
    report.problem === undefined ? "structure:        ok" : `problem:          ${report.problem}`,
  );
  return lines;
}
