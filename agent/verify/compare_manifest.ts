/**
 * `verify --level manifest`: the objects the dump holds, recounted and
 * re-digested from the dump stream, against the manifest written at backup
 * time. Every difference is named: a missing or extra object, a row count,
 * a digest.
 *
 * @module
 */
import type { ManifestObject } from "../manifest/backup_manifest.ts";

/** Every difference between the manifest's objects and the dump's; empty when they agree. */
export function compareObjects(expected: ManifestObject[], found: ManifestObject[]): string[] {
  const problems: string[] = [];
  const foundByName = new Map(found.map((o) => [o.name, o]));
  for (const object of expected) {
    const actual = foundByName.get(object.name);
    foundByName.delete(object.name);
    if (!actual) {
      problems.push(`${object.name}: in the manifest (${object.rows} rows) but not in the dump`);
      continue;
    }
    if (actual.rows !== object.rows) {
      problems.push(
        `${object.name}: ${object.rows} rows in the manifest, ${actual.rows} in the dump`,
      );
    } else if (object.digest !== undefined && actual.digest !== object.digest) {
      problems.push(
        `${object.name}: the rows differ (digest ${object.digest} in the manifest, ${
          actual.digest ?? "none"
        } in the dump)`,
      );
    }
  }
  for (const extra of foundByName.values()) {
    problems.push(`${extra.name}: in the dump (${extra.rows} rows) but not in the manifest`);
  }
  return problems;
}
