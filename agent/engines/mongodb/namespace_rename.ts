/**
 * Where a MongoDB restore puts each namespace of an archive: `--rename`
 * rules as mongorestore's `--nsFrom/--nsTo` pairs say it, a whole database
 * (`shop=shop_copy`) or one collection (`shop.orders=archive.orders_2024`),
 * the collection rule winning.
 *
 * @module
 */
import { UsageError } from "../../../decrypt/errors.ts";

/** A database and collection. */
export interface Namespace {
  db: string;
  collection: string;
}

/** One `--rename FROM=TO` rule. */
export interface NamespaceRename {
  from: Namespace | { db: string; collection?: undefined };
  to: Namespace | { db: string; collection?: undefined };
}

/** MongoDB's rules for a database name (docs: no `/\. "$*<>:|?`, at most 63 bytes). */
function checkDatabase(name: string, rule: string): string {
  if (!name || /[\/\\. "$*<>:|?\0]/.test(name) || new TextEncoder().encode(name).length > 63) {
    throw new UsageError(`--rename ${rule}: ${JSON.stringify(name)} is not a database name`);
  }
  return name;
}

function side(text: string, rule: string): NamespaceRename["from"] {
  const dot = text.indexOf(".");
  if (dot < 0) return { db: checkDatabase(text, rule) };
  const collection = text.slice(dot + 1);
  if (!collection || collection.includes("$") || collection.startsWith("system.")) {
    throw new UsageError(
      `--rename ${rule}: ${JSON.stringify(collection)} is not a collection name`,
    );
  }
  return { db: checkDatabase(text.slice(0, dot), rule), collection };
}

/** Parses `FROM=TO`; both sides name a database, or both a collection. */
export function parseRename(rule: string): NamespaceRename {
  const equals = rule.indexOf("=");
  if (equals < 0) {
    throw new UsageError(`--rename ${rule}: expected FROM=TO (db=db2 or db.coll=db2.coll2)`);
  }
  const from = side(rule.slice(0, equals), rule);
  const to = side(rule.slice(equals + 1), rule);
  if ((from.collection === undefined) !== (to.collection === undefined)) {
    throw new UsageError(
      `--rename ${rule}: rename a database to a database or a collection to a collection`,
    );
  }
  return { from, to };
}

/**
 * Maps archive namespaces to target ones: collection rules first, then
 * database rules, then `prefix` (a scratch restore's) on every database.
 */
export class NamespaceMap {
  readonly #rules: readonly NamespaceRename[];
  readonly #prefix: string;

  /** A map from `rules`, each database name then prefixed with `prefix`. */
  constructor(rules: readonly NamespaceRename[] = [], prefix = "") {
    const seen = new Set<string>();
    for (const { from } of rules) {
      const key = `${from.db}.${from.collection ?? ""}`;
      if (seen.has(key)) {
        throw new UsageError(
          `--rename names ${from.db}${from.collection ? `.${from.collection}` : ""} twice`,
        );
      }
      seen.add(key);
    }
    this.#rules = rules;
    this.#prefix = prefix;
  }

  /** Where `ns` of the archive goes. */
  target(ns: Namespace): Namespace {
    const exact = this.#rules.find((r) =>
      r.from.collection === ns.collection && r.from.db === ns.db
    );
    const renamed = exact ? { db: exact.to.db, collection: exact.to.collection! } : {
      db: this.#rules.find((r) => r.from.collection === undefined && r.from.db === ns.db)?.to
        .db ?? ns.db,
      collection: ns.collection,
    };
    return { db: this.#prefix + renamed.db, collection: renamed.collection };
  }

  /** The rules that matched nothing in an archive of `namespaces` (a typo, most likely). */
  unused(namespaces: readonly Namespace[]): string[] {
    return this.#rules.filter((r) =>
      !namespaces.some((ns) =>
        ns.db === r.from.db &&
        (r.from.collection === undefined || r.from.collection === ns.collection)
      )
    ).map((r) => `${r.from.db}${r.from.collection === undefined ? "" : `.${r.from.collection}`}`);
  }
}
