/**
 * Publications for logical replication, with the tables (and, from 15,
 * the schemas) they publish, row filters and column lists. They come
 * after the data, as pg_dump puts them.
 *
 * @module
 */
import { ident, qualifiedName } from "../catalog_sql.ts";
import type { DumpContext } from "../dump_context.ts";
import { catalogKey, dumpObject, PRIORITY } from "../dump_object.ts";

/** Every publication and what it publishes. */
export async function collectPublications(context: DumpContext): Promise<void> {
  const v = context.versionNum;
  const rows = await context.q(
    `SELECT p.oid::text AS oid, p.pubname AS name, p.puballtables AS all_tables,
      p.pubinsert AS insert, p.pubupdate AS update, p.pubdelete AS delete, p.pubtruncate AS truncate,
      ${v >= 130000 ? "p.pubviaroot" : "false"} AS via_root,
      ${v >= 180000 ? "p.pubgencols = 's'" : "false"} AS generated_columns
    FROM pg_publication p`,
  );
  for (const p of rows) {
    const publish = ["insert", "update", "delete", "truncate"].filter((action) => p[action]);
    const options = [`publish = '${publish.join(", ")}'`];
    if (p.via_root) options.push("publish_via_partition_root = true");
    if (p.generated_columns) options.push("publish_generated_columns = stored");
    context.add(dumpObject({
      key: catalogKey("pg_publication", p.oid),
      label: `PUBLICATION ${p.name}`,
      priority: PRIORITY.publication,
      sortName: p.name,
      section: "post-data",
      write: () =>
        `CREATE PUBLICATION ${ident(p.name)}${p.all_tables ? " FOR ALL TABLES" : ""} WITH (${
          options.join(", ")
        });\n\n`,
    }));
  }

  const filters = v >= 150000
    ? `pg_get_expr(r.prqual, r.prrelid) AS filter,
      (SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY k.i) FROM unnest(r.prattrs::int2[]) WITH ORDINALITY k(attnum, i)
        JOIN pg_attribute a ON a.attrelid = r.prrelid AND a.attnum = k.attnum) AS columns`
    : "NULL AS filter, NULL AS columns";
  const tables = await context.q(`SELECT r.oid::text AS oid, r.prpubid::text AS publication,
      r.prrelid::text AS table_oid, (SELECT pubname FROM pg_publication WHERE oid = r.prpubid) AS pubname,
      (SELECT ${
    qualifiedName("n.nspname", "c.relname")
  } FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.oid = r.prrelid) AS table_name, ${filters}
    FROM pg_publication_rel r`);
  for (const t of tables) {
    const name = `${ident(t.pubname)} ${t.table_name}`;
    context.add(dumpObject({
      key: catalogKey("pg_publication_rel", t.oid),
      label: `PUBLICATION TABLE ${name}`,
      priority: PRIORITY.publicationTable,
      sortName: name,
      section: "post-data",
      needs: [catalogKey("pg_publication", t.publication), catalogKey("pg_class", t.table_oid)],
      write: () =>
        `ALTER PUBLICATION ${ident(t.pubname)} ADD TABLE ONLY ${t.table_name}${
          t.columns ? ` (${t.columns})` : ""
        }${t.filter ? ` WHERE (${t.filter})` : ""};\n\n`,
    }));
  }

  if (v < 150000) return;
  const schemas = await context.q(`SELECT s.oid::text AS oid, s.pnpubid::text AS publication,
      s.pnnspid::text AS schema_oid, (SELECT pubname FROM pg_publication WHERE oid = s.pnpubid) AS pubname,
      (SELECT nspname FROM pg_namespace WHERE oid = s.pnnspid) AS schema
    FROM pg_publication_namespace s`);
  for (const s of schemas) {
    const name = `${ident(s.pubname)} ${ident(s.schema)}`;
    context.add(dumpObject({
      key: catalogKey("pg_publication_namespace", s.oid),
      label: `PUBLICATION TABLES IN SCHEMA ${name}`,
      priority: PRIORITY.publicationTable,
      sortName: name,
      section: "post-data",
      needs: [
        catalogKey("pg_publication", s.publication),
        catalogKey("pg_namespace", s.schema_oid),
      ],
      write: () =>
        `ALTER PUBLICATION ${ident(s.pubname)} ADD TABLES IN SCHEMA ${ident(s.schema)};\n\n`,
    }));
  }
}
