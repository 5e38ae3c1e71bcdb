/**
 * `CREATE AGGREGATE` statements for user-defined aggregates, rebuilt from
 * `pg_aggregate` (the server has no `pg_get_aggregatedef`). Covers normal,
 * moving-aggregate, ordered-set and hypothetical-set aggregates with every
 * option PostgreSQL 12-18 store: support functions, state types and sizes,
 * initial conditions, final-function modes, sort operator and parallel
 * safety. Function and type names come qualified, as the dump runs with an
 * empty search_path.
 *
 * @module
 */
import type { Row } from "postgres";
import { literal, NOT_EXTENSION_MEMBER, qualifiedName, SYSTEM_SCHEMA } from "../catalog_sql.ts";

const MODIFY: Record<string, string> = { r: "READ_ONLY", s: "SHAREABLE", w: "READ_WRITE" };
const PARALLEL: Record<string, string> = { s: "SAFE", r: "RESTRICTED", u: "UNSAFE" };

/** The catalog query for every user-defined aggregate. */
export function aggregateQuery(): string {
  return `SELECT p.oid::text AS oid, ${qualifiedName("n.nspname", "p.proname")} AS name,
      pg_get_function_arguments(p.oid) AS args, a.aggkind AS kind, p.proparallel AS parallel,
      a.aggtransfn::text AS sfunc, format_type(a.aggtranstype, NULL) AS stype, a.aggtransspace AS sspace,
      nullif(a.aggfinalfn::text, '-') AS finalfunc, a.aggfinalextra AS finalextra, a.aggfinalmodify AS finalmodify,
      nullif(a.aggcombinefn::text, '-') AS combinefunc,
      nullif(a.aggserialfn::text, '-') AS serialfunc,
      nullif(a.aggdeserialfn::text, '-') AS deserialfunc,
      a.agginitval AS initcond,
      nullif(a.aggmtransfn::text, '-') AS msfunc,
      nullif(a.aggminvtransfn::text, '-') AS minvfunc,
      CASE WHEN a.aggmtranstype <> 0 THEN format_type(a.aggmtranstype, NULL) END AS mstype,
      a.aggmtransspace AS msspace,
      nullif(a.aggmfinalfn::text, '-') AS mfinalfunc, a.aggmfinalextra AS mfinalextra,
      a.aggmfinalmodify AS mfinalmodify, a.aggminitval AS minitcond,
      CASE WHEN a.aggsortop <> 0 THEN (SELECT 'OPERATOR(' || quote_ident(opn.nspname) || '.' || o.oprname || ')'
        FROM pg_operator o JOIN pg_namespace opn ON opn.oid = o.oprnamespace WHERE o.oid = a.aggsortop) END AS sortop
    FROM pg_aggregate a JOIN pg_proc p ON p.oid = a.aggfnoid JOIN pg_namespace n ON n.oid = p.pronamespace
    WHERE ${SYSTEM_SCHEMA} AND ${NOT_EXTENSION_MEMBER("pg_proc", "p.oid")}
    ORDER BY n.nspname, p.proname, p.oid`;
}

/** One `CREATE AGGREGATE` statement from a row of {@linkcode aggregateQuery}. */
export function createAggregate(a: Row): string {
  const options = [`SFUNC = ${a.sfunc}`, `STYPE = ${a.stype}`];
  if (a.sspace > 0) options.push(`SSPACE = ${a.sspace}`);
  if (a.finalfunc) {
    options.push(`FINALFUNC = ${a.finalfunc}`);
    if (a.finalextra) options.push("FINALFUNC_EXTRA");
  }
  // Always written: the default differs between normal and ordered-set aggregates.
  options.push(`FINALFUNC_MODIFY = ${MODIFY[a.finalmodify]}`);
  if (a.combinefunc) options.push(`COMBINEFUNC = ${a.combinefunc}`);
  if (a.serialfunc) options.push(`SERIALFUNC = ${a.serialfunc}`);
  if (a.deserialfunc) options.push(`DESERIALFUNC = ${a.deserialfunc}`);
  if (a.initcond !== null) options.push(`INITCOND = ${literal(a.initcond)}`);
  if (a.msfunc) {
    options.push(`MSFUNC = ${a.msfunc}`, `MINVFUNC = ${a.minvfunc}`, `MSTYPE = ${a.mstype}`);
    if (a.msspace > 0) options.push(`MSSPACE = ${a.msspace}`);
    if (a.mfinalfunc) {
      options.push(`MFINALFUNC = ${a.mfinalfunc}`);
      if (a.mfinalextra) options.push("MFINALFUNC_EXTRA");
    }
    options.push(`MFINALFUNC_MODIFY = ${MODIFY[a.mfinalmodify]}`);
    if (a.minitcond !== null) options.push(`MINITCOND = ${literal(a.minitcond)}`);
  }
  if (a.sortop) options.push(`SORTOP = ${a.sortop}`);
  if (a.parallel !== "u") options.push(`PARALLEL = ${PARALLEL[a.parallel]}`);
  if (a.kind === "h") options.push("HYPOTHETICAL");
  return `CREATE AGGREGATE ${a.name}(${a.args || "*"}) (\n    ${options.join(",\n    ")}\n);\n`;
}
