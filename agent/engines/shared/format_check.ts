/**
 * What `verify --level structure` asks of each dump format: see every byte
 * of the decrypted dump in order, then list every problem found (empty when
 * the dump is whole), and say what it counted.
 *
 * @module
 */

/** A streaming structure check of one dump format. */
export interface FormatCheck {
  /** For reports: "PostgreSQL SQL dump", "Redis RDB snapshot", ... */
  readonly format: string;
  /** Sees the next bytes. */
  update(chunk: Uint8Array): void;
  /** Every problem found, after the last byte; empty when the dump is whole. */
  finish(): string[] | Promise<string[]>;
  /** What the check counted (collections and documents, ...), with digests where it computes them. */
  objects?(): { name: string; rows: number; digest?: string }[];
  /** Where the dump stands in the server's history, when the format records it. */
  snapshot?(): Record<string, string> | undefined;
}
