/**
 * Procedural languages created with CREATE LANGUAGE rather than from an
 * extension (plpgsql and the others an extension brings are made by
 * CREATE EXTENSION), with the handler functions the dump writes before.
 *
 * @module
 */
import { functionName, ident, NOT_EXTENSION_MEMBER } from "../catalog_sql.ts";
import type { DumpContext } from "../dump_context.ts";
import { catalogKey, dumpObject, PRIORITY } from "../dump_object.ts";

/** Every user language. */
export async function collectLanguages(context: DumpContext): Promise<void> {
  const rows = await context.q(
    `SELECT l.oid::text AS oid, l.lanname AS name, l.lanpltrusted AS trusted,
      ${functionName("l.lanplcallfoid")} AS handler, ${functionName("l.laninline")} AS inline,
      ${functionName("l.lanvalidator")} AS validator
    FROM pg_language l WHERE l.oid >= 16384 AND ${NOT_EXTENSION_MEMBER("pg_language", "l.oid")}`,
  );
  for (const l of rows) {
    const name = ident(l.name);
    if (!l.handler) {
      throw new Error(
        `language ${l.name} has no handler function, so CREATE LANGUAGE cannot make it again: ` +
          `back this database up with docker:// (the server's own pg_dump) instead`,
      );
    }
    context.add(dumpObject({
      key: catalogKey("pg_language", l.oid),
      label: `LANGUAGE ${l.name}`,
      priority: PRIORITY.language,
      sortName: l.name,
      write: () =>
        `CREATE ${l.trusted ? "TRUSTED " : ""}PROCEDURAL LANGUAGE ${name} HANDLER ${l.handler}${
          l.inline ? ` INLINE ${l.inline}` : ""
        }${l.validator ? ` VALIDATOR ${l.validator}` : ""};\n\n`,
    }));
  }
}
