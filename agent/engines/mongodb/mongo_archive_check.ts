/**
 * Checks a `mongodump --archive` stream the way mongorestore's
 * demultiplexer would (docs/engines.md section 2), in bounded memory: the
 * magic, the prelude, every block, and every namespace's EOF block with the
 * CRC-64/XZ of its documents. It collects every problem instead of stopping
 * at the first, and counts (and digests) the documents of each namespace.
 *
 * @module
 */
import { RowDigest } from "../../manifest/row_digest.ts";
import type { FormatCheck } from "../shared/format_check.ts";
import { ArchiveDemultiplexer } from "./archive_demultiplexer.ts";

/** The archive checker. */
export class MongoArchiveCheck implements FormatCheck {
  readonly format = "mongodump archive";
  readonly #problems: string[] = [];
  readonly #digests = new Map<string, RowDigest>();
  readonly #archive: ArchiveDemultiplexer;

  /** `digestRows`: digest each document (the manifest level); else only count them. */
  constructor(digestRows = true) {
    const digestOf = (ns: string) => {
      let digest = this.#digests.get(ns);
      if (!digest) this.#digests.set(ns, digest = new RowDigest());
      return digest;
    };
    this.#archive = new ArchiveDemultiplexer({
      document: digestRows ? (ns, doc) => digestOf(ns).add(doc) : undefined,
      problem: (problem) => void this.#problems.push(problem),
    });
  }

  update(chunk: Uint8Array): void {
    this.#archive.update(chunk);
  }

  finish(): string[] {
    this.#archive.finish();
    return [...this.#problems];
  }

  /** Documents per namespace ("db.collection"), with their digest. */
  objects(): { name: string; rows: number; digest: string }[] {
    return [...this.#archive.counts()].map(([name, rows]) => ({
      name,
      rows,
      digest: (this.#digests.get(name) ?? new RowDigest()).hex(),
    }));
  }
}
