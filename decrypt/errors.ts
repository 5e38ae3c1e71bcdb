/**
 * The typed errors of the v1 format and the decrypt CLI. Each message is
 * written for the person reading it: what is wrong, where, and what to do.
 */

/** A failure the user can act on; the CLI prints the message and exits 1. */
export class BackupyError extends Error {
  /** Wraps `message`, keeping `cause` for debugging. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The encrypted file is not a well-formed v1 stream. */
export class FormatError extends BackupyError {
  /** Zero-based index of the frame where it broke. */
  readonly frame: number;
  /** Byte offset in the encrypted file where it broke. */
  readonly offset: number;

  /** A format failure in `frame` at byte `offset`. */
  constructor(message: string, frame: number, offset: number) {
    super(message);
    this.frame = frame;
    this.offset = offset;
  }
}

/** A frame length outside 28 .. 1,048,604. */
export class FrameLengthError extends FormatError {}

/** The file ends before its end-of-stream marker. */
export class TruncatedError extends FormatError {}

/** Bytes follow the end-of-stream marker. */
export class TrailingBytesError extends FormatError {}

/** AES-GCM refused a frame: wrong key or corrupted data. */
export class AuthenticationError extends FormatError {}

/** The whole-file SHA-256 is not the expected one. */
export class ChecksumMismatchError extends BackupyError {}

/** The decrypted stream is not valid zstd or gzip, or it is truncated. */
export class DecompressionError extends BackupyError {}

/** The decryption token is malformed, expired or not for this tool. */
export class TokenError extends BackupyError {}

/** A key (DEK) is not 32 bytes in any accepted encoding. */
export class KeyError extends BackupyError {}

/** The command line is wrong; the CLI prints usage and exits 2. */
export class UsageError extends BackupyError {}
