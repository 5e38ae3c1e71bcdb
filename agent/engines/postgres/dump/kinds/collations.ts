/**
 * Collations and encoding conversions the user created. A collation is
 * written with the locale fields of its server version (ICU locale in
 * its own column from 15, rules from 16, one locale column for every
 * provider from 17) and without its version, so the restoring server
 * records its own (pg_dump's choice outside binary upgrades).
 *
 * @module
 */
import type { Row } from "postgres";
import {
  functionName,
  literal,
  NOT_EXTENSION_MEMBER,
  qualifiedName,
  SYSTEM_SCHEMA,
} from "../catalog_sql.ts";
import type { DumpContext } from "../dump_context.ts";
import { catalogKey, dumpObject, PRIORITY } from "../dump_object.ts";

const PROVIDER: Record<string, string> = { c: "libc", i: "icu", b: "builtin" };

/** The locale columns a server version has, as `locale` and `rules`. */
function localeColumns(versionNum: number): string {
  if (versionNum >= 170000) return "c.colllocale AS locale, c.collicurules AS rules";
  if (versionNum >= 160000) return "c.colliculocale AS locale, c.collicurules AS rules";
  if (versionNum >= 150000) return "c.colliculocale AS locale, NULL AS rules";
  return "NULL AS locale, NULL AS rules";
}

/** Every user collation and conversion. */
export async function collectCollations(context: DumpContext): Promise<void> {
  const rows = await context.q(
    `SELECT c.oid::text AS oid, ${qualifiedName("n.nspname", "c.collname")} AS name,
      c.collprovider AS provider, c.collisdeterministic AS deterministic,
      nullif(c.collcollate::text, '') AS collate, nullif(c.collctype::text, '') AS ctype,
      ${localeColumns(context.versionNum)}
    FROM pg_collation c JOIN pg_namespace n ON n.oid = c.collnamespace
    WHERE ${SYSTEM_SCHEMA} AND ${NOT_EXTENSION_MEMBER("pg_collation", "c.oid")}`,
  );
  for (const c of rows) {
    context.add(dumpObject({
      key: catalogKey("pg_collation", c.oid),
      label: `COLLATION ${c.name}`,
      priority: PRIORITY.collation,
      sortName: c.name,
      write: () => `CREATE COLLATION ${c.name} (${collationOptions(c)});\n\n`,
    }));
  }

  const conversions = await context.q(
    `SELECT c.oid::text AS oid, ${qualifiedName("n.nspname", "c.conname")} AS name,
      pg_encoding_to_char(c.conforencoding) AS source, pg_encoding_to_char(c.contoencoding) AS target,
      ${functionName("c.conproc")} AS function, c.condefault AS "default"
    FROM pg_conversion c JOIN pg_namespace n ON n.oid = c.connamespace
    WHERE ${SYSTEM_SCHEMA} AND ${NOT_EXTENSION_MEMBER("pg_conversion", "c.oid")}`,
  );
  for (const c of conversions) {
    context.add(dumpObject({
      key: catalogKey("pg_conversion", c.oid),
      label: `CONVERSION ${c.name}`,
      priority: PRIORITY.conversion,
      sortName: c.name,
      write: () =>
        `CREATE ${c.default ? "DEFAULT " : ""}CONVERSION ${c.name} FOR ${literal(c.source)} TO ${
          literal(c.target)
        } FROM ${c.function};\n\n`,
    }));
  }
}

/** What goes inside CREATE COLLATION's parentheses. */
function collationOptions(c: Row): string {
  const provider = PROVIDER[c.provider];
  if (!provider) {
    throw new Error(`collation ${c.name} has provider "${c.provider}", which cannot be created`);
  }
  const options = [`provider = ${provider}`];
  if (!c.deterministic) options.push("deterministic = false");
  if (c.provider === "c") {
    if (c.collate === c.ctype) options.push(`locale = ${literal(c.collate ?? "")}`);
    else {
      options.push(
        `lc_collate = ${literal(c.collate ?? "")}`,
        `lc_ctype = ${literal(c.ctype ?? "")}`,
      );
    }
  } else {
    // Before 15 an ICU collation kept its locale in collcollate.
    options.push(`locale = ${literal(c.locale ?? c.collate ?? "")}`);
    if (c.rules) options.push(`rules = ${literal(c.rules)}`);
  }
  return options.join(", ");
}
