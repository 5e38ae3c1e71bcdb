/**
 * Security labels survive a PostgreSQL backup: on every kind that takes
 * one, and on an extension's member (plpgsql's language), as pg_dump keeps
 * them. A label needs a label provider loaded in the server; PostgreSQL
 * ships none, only the `dummy_seclabel` test module in its source
 * (src/test/modules/dummy_seclabel). So this runs only when
 * BACKUPY_TEST_PG_SECLABEL_LIB is the path of that module built for the
 * server's major version (docs/engines.md section 4); it is never built
 * here.
 */
import postgres from "postgres";
import { tempDir } from "../support/agent_fixtures.ts";
import { assertEquals } from "../support/assert.ts";
import { TempPgCluster } from "../support/pg_cluster.ts";
import { backupToSql } from "../support/programs.ts";

const library = Deno.env.get("BACKUPY_TEST_PG_SECLABEL_LIB");

const LABELLED = `
CREATE SCHEMA s; CREATE TABLE s.t (a int, b text); CREATE VIEW s.v AS SELECT a FROM s.t; CREATE SEQUENCE s.q;
CREATE FUNCTION s.f(int) RETURNS int LANGUAGE sql AS 'SELECT $1'; CREATE TYPE s.e AS ENUM ('x');
CREATE DOMAIN s.d AS int; CREATE MATERIALIZED VIEW s.m AS SELECT 1 AS x; CREATE PUBLICATION p;
SELECT lo_from_bytea(9001, 'x');
CREATE FUNCTION s.et() RETURNS event_trigger LANGUAGE plpgsql AS $$ BEGIN END $$;
CREATE EVENT TRIGGER et ON ddl_command_end EXECUTE FUNCTION s.et(); ALTER EVENT TRIGGER et DISABLE;
CREATE AGGREGATE s.agg(int) (SFUNC = int4pl, STYPE = int);
CREATE FOREIGN DATA WRAPPER w; CREATE SERVER srv FOREIGN DATA WRAPPER w; CREATE FOREIGN TABLE s.ft (a int) SERVER srv;
SECURITY LABEL FOR dummy ON SCHEMA s IS 'classified';
SECURITY LABEL FOR dummy ON TABLE s.t IS 'classified';
SECURITY LABEL FOR dummy ON COLUMN s.t.b IS 'secret';
SECURITY LABEL FOR dummy ON VIEW s.v IS 'unclassified';
SECURITY LABEL FOR dummy ON SEQUENCE s.q IS 'unclassified';
SECURITY LABEL FOR dummy ON FUNCTION s.f(int) IS 'classified';
SECURITY LABEL FOR dummy ON TYPE s.e IS 'classified';
SECURITY LABEL FOR dummy ON DOMAIN s.d IS 'classified';
SECURITY LABEL FOR dummy ON MATERIALIZED VIEW s.m IS 'classified';
SECURITY LABEL FOR dummy ON PUBLICATION p IS 'classified';
SECURITY LABEL FOR dummy ON LARGE OBJECT 9001 IS 'classified';
SECURITY LABEL FOR dummy ON EVENT TRIGGER et IS 'classified';
SECURITY LABEL FOR dummy ON AGGREGATE s.agg(int) IS 'classified';
SECURITY LABEL FOR dummy ON FOREIGN TABLE s.ft IS 'classified';
SECURITY LABEL FOR dummy ON LANGUAGE plpgsql IS 'classified';
`;

async function labels(cluster: TempPgCluster, database: string): Promise<string[]> {
  const sql = postgres(cluster.options(database));
  try {
    const rows = await sql`SELECT provider || ' ' || label || ' ' ||
      pg_describe_object(classoid, objoid, objsubid) AS l FROM pg_seclabels ORDER BY 1`;
    return rows.map((r) => r.l);
  } finally {
    await sql.end();
  }
}

Deno.test({
  name: "security labels on every kind, and on an extension's member, restore with psql",
  ignore: !library,
  async fn() {
    await using cluster = await TempPgCluster.start();
    const load = `LOAD '${library!.replaceAll("'", "''")}'`;
    const made = await cluster.psql("postgres", [
      "-c",
      "CREATE DATABASE labelled",
      "-c",
      "CREATE DATABASE restored",
    ]);
    assertEquals(made.code, 0, made.stderr);
    const labelled = await cluster.psql("labelled", ["-c", load, "-c", LABELLED]);
    assertEquals(labelled.code, 0, labelled.stderr);
    const expected = await labels(cluster, "labelled");
    assertEquals(expected.length, 15);

    await using dir = await tempDir("backupy-pg-labels-");
    const { sql } = await backupToSql(cluster.url("labelled"), dir.path, "l");
    // The restoring session loads the provider too, as it would have to for pg_dump's output.
    const restored = await cluster.psql("restored", ["-c", load, "-f", sql]);
    assertEquals(restored.code, 0, restored.stderr);
    assertEquals(await labels(cluster, "restored"), expected);
  },
});
