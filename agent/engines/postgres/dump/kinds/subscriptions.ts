/**
 * Logical replication subscriptions of this database, as pg_dump writes
 * them: created without connecting (`connect = false`), so the restored
 * one stays disabled until someone enables it, naming the slot it used.
 * Their connection strings are readable by superusers only; for anyone
 * else they are not written, and the coverage check fails the backup
 * naming them (object_coverage.ts).
 *
 * @module
 */
import { ident, literal } from "../catalog_sql.ts";
import type { DumpContext } from "../dump_context.ts";
import { catalogKey, dumpObject, PRIORITY } from "../dump_object.ts";
import { THIS_DATABASE } from "../identified_kinds.ts";

/** Every subscription of the current database, when the dumping user may read them. */
export async function collectSubscriptions(context: DumpContext): Promise<void> {
  const [{ superuser }] = await context.q(
    `SELECT rolsuper AS superuser FROM pg_roles WHERE rolname = current_user`,
  );
  if (!superuser) return;
  const v = context.versionNum;
  const rows = await context.q(
    `SELECT s.oid::text AS oid, s.subname AS name, s.subconninfo AS conninfo,
      s.subslotname AS slot, s.subpublications AS publications, s.subsynccommit AS synchronous_commit,
      s.subbinary AS binary, s.substream::text AS stream,
      ${v >= 150000 ? "s.subtwophasestate <> 'd'" : "false"} AS two_phase,
      ${v >= 150000 ? "s.subdisableonerr" : "false"} AS disable_on_error,
      ${v >= 160000 ? "s.suborigin" : "'any'"} AS origin,
      ${v >= 160000 ? "s.subpasswordrequired" : "true"} AS password_required,
      ${v >= 160000 ? "s.subrunasowner" : "false"} AS run_as_owner,
      ${v >= 170000 ? "s.subfailover" : "false"} AS failover
    FROM pg_subscription s WHERE s.subdbid = ${THIS_DATABASE}`,
  );
  for (const s of rows) {
    const options = [
      `connect = false`,
      `slot_name = ${s.slot === null ? "NONE" : literal(s.slot)}`,
    ];
    if (s.binary) options.push("binary = true");
    // Before 16 a boolean; from 16 'f', 't' or 'p' (parallel).
    if (s.stream === "true" || s.stream === "t") options.push("streaming = on");
    if (s.stream === "p") options.push("streaming = parallel");
    if (s.two_phase) options.push("two_phase = on");
    if (s.disable_on_error) options.push("disable_on_error = true");
    if (!s.password_required) options.push("password_required = false");
    if (s.run_as_owner) options.push("run_as_owner = true");
    if (s.failover) options.push("failover = true");
    if (s.origin !== "any") options.push(`origin = ${s.origin}`);
    if (s.synchronous_commit !== "off") {
      options.push(`synchronous_commit = ${s.synchronous_commit}`);
    }
    const publications = (s.publications as string[]).map(ident).join(", ");
    context.add(dumpObject({
      key: catalogKey("pg_subscription", s.oid),
      label: `SUBSCRIPTION ${s.name}`,
      priority: PRIORITY.publication + 0.5,
      sortName: s.name,
      section: "post-data",
      write: () =>
        `CREATE SUBSCRIPTION ${ident(s.name)} CONNECTION ${
          literal(s.conninfo)
        } PUBLICATION ${publications} WITH (${options.join(", ")});\n\n`,
    }));
  }
}
