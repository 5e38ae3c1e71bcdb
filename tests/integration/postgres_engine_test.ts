/**
 * The native PostgreSQL engine against the server tests/services.sh starts
 * (BACKUPY_TEST_PG_URL points the tests elsewhere): a hard fixture dumped
 * while a writer runs, restored with `psql -X -v ON_ERROR_STOP=1` into a
 * database created from template0, and compared with `pg_dump
 * --schema-only` and an ordered digest of every table's rows.
 */
import {
  assert,
  assertEquals,
  assertMatch,
  assertRejects,
  assertStringIncludes,
} from "../support/assert.ts";
import postgres from "postgres";
import { join } from "node:path";
import { PostgresEngine } from "../../agent/engines/postgres/postgres_engine.ts";
import { DumpError } from "../../agent/engines/shared/engine.ts";
import { Secret } from "../../decrypt/secret.ts";
import { tempDir } from "../support/agent_fixtures.ts";
import { backupToSql, runAgent, runDecrypt } from "../support/programs.ts";
import { POSTGRES_FORMAT } from "../../agent/engines/postgres/postgres_format.ts";

const url = new URL(
  Deno.env.get("BACKUPY_TEST_PG_URL") ??
    "postgres://backupy:backupy-test-pw@127.0.0.1:5432/postgres",
);
const server = {
  host: url.hostname,
  port: Number(url.port || 5432),
  user: decodeURIComponent(url.username),
  password: decodeURIComponent(url.password),
};
const SOURCE = "backupy_pg_fixture";

function admin(database = "postgres") {
  return postgres({ ...server, database, max: 1, onnotice: () => {} });
}

const FIXTURE = String.raw`
CREATE SCHEMA "Mixed Case";
CREATE EXTENSION IF NOT EXISTS pgcrypto;
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE DOMAIN positive AS integer CONSTRAINT positive_check CHECK (VALUE > 0) NOT NULL;
CREATE TYPE pair AS (left_side integer, right_side text);
CREATE TYPE floatrange AS RANGE (subtype = float8, subtype_diff = float8mi);
CREATE FUNCTION twice(x integer) RETURNS integer LANGUAGE sql IMMUTABLE AS 'SELECT x * 2';
CREATE PROCEDURE bump(n integer) LANGUAGE plpgsql AS $$ BEGIN UPDATE counters SET value = value + n; END $$;
CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.touched := true; RETURN NEW; END $$;
CREATE SEQUENCE ticket_seq START 100 INCREMENT 5;
CREATE TABLE counters (id serial PRIMARY KEY, value bigint NOT NULL DEFAULT 0);
CREATE TABLE "Mixed Case"."select" (
  "id" integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  "Weird ""Name""" text COLLATE "C",
  doubled integer GENERATED ALWAYS AS (id * 2) STORED,
  ticket integer DEFAULT nextval('ticket_seq'),
  m mood DEFAULT 'ok', p positive, pr pair, fr floatrange, touched boolean DEFAULT false
) WITH (fillfactor = 80);
CREATE TABLE types (
  id integer PRIMARY KEY, b bytea, arr integer[], tarr text[], j jsonb, n numeric, nn numeric, f float8,
  i interval, tz timestamptz, t text, u uuid DEFAULT gen_random_uuid(), parent integer REFERENCES types (id) DEFERRABLE INITIALLY DEFERRED,
  CONSTRAINT sane CHECK (n IS NULL OR n > -1000000)
);
CREATE UNLOGGED TABLE scratch (k text PRIMARY KEY, v text);
CREATE TABLE measurements (at date NOT NULL, device integer NOT NULL, reading numeric) PARTITION BY RANGE (at);
CREATE TABLE measurements_2025 PARTITION OF measurements FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
CREATE TABLE measurements_2026 PARTITION OF measurements FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
ALTER TABLE measurements ADD PRIMARY KEY (at, device);
CREATE INDEX measurements_device ON measurements (device);
CREATE TABLE animals (id integer PRIMARY KEY, name text NOT NULL, CONSTRAINT named CHECK (name <> ''));
CREATE TABLE dogs (breed text) INHERITS (animals);
CREATE EXTENSION IF NOT EXISTS btree_gist;
CREATE TABLE bookings (room integer, during tsrange, EXCLUDE USING gist (room WITH =, during WITH &&));
CREATE TABLE pairs (id bigserial PRIMARY KEY, grp integer NOT NULL);
CREATE TABLE pair_total (n bigint NOT NULL);
INSERT INTO pair_total VALUES (0);
CREATE INDEX types_partial ON types (n) WHERE n > 0;
CREATE INDEX types_expr ON types (lower(t));
CREATE UNIQUE INDEX types_include ON types (id) INCLUDE (t);
CREATE VIEW v_b AS SELECT id, twice(id) AS doubled FROM types;
CREATE VIEW v_a AS SELECT id FROM v_b WHERE doubled > 2;
CREATE MATERIALIZED VIEW mv AS SELECT count(*) AS n FROM types;
CREATE UNIQUE INDEX mv_n ON mv (n);
CREATE TRIGGER select_touch BEFORE INSERT ON "Mixed Case"."select" FOR EACH ROW EXECUTE FUNCTION touch();
CREATE RULE no_delete_scratch AS ON DELETE TO scratch DO INSTEAD NOTHING;
CREATE TABLE checked_parts (id integer, CONSTRAINT checked_parts_positive CHECK (id > 0))
  PARTITION BY RANGE (id);
CREATE TABLE checked_parts_1 PARTITION OF checked_parts FOR VALUES FROM (1) TO (100);
INSERT INTO checked_parts VALUES (5);
CREATE RULE no_update_scratch AS ON UPDATE TO scratch DO INSTEAD NOTHING;
ALTER TABLE scratch DISABLE RULE no_update_scratch;
CREATE RULE no_insert_scratch AS ON INSERT TO scratch WHERE false DO INSTEAD NOTHING;
ALTER TABLE scratch ENABLE ALWAYS RULE no_insert_scratch;
ALTER TABLE scratch ENABLE ROW LEVEL SECURITY;
CREATE POLICY scratch_mine ON scratch FOR SELECT TO PUBLIC USING (k LIKE 'pub%');
COMMENT ON TABLE types IS 'every type; ''quoted''';
COMMENT ON COLUMN types.b IS 'all 256 byte values';
COMMENT ON SCHEMA "Mixed Case" IS 'needs quoting';
INSERT INTO counters (value) VALUES (1), (2);
INSERT INTO "Mixed Case"."select" ("Weird ""Name""", m, p, pr, fr) VALUES ('tab	and
newline and \ backslash', 'happy', 3, ROW(1, 'x'), '[1.5,2.5)'), (NULL, 'sad', 1, NULL, NULL);
INSERT INTO types (id, b, arr, tarr, j, n, nn, f, i, tz, t) VALUES
  (1, (SELECT string_agg(set_byte('\x00'::bytea, 0, g), '' ORDER BY g) FROM generate_series(0, 255) g),
   '{1,2,NULL}', '{"a b","c\"d",NULL}', '{"k": [1, 2.5, "s"], "n": null}', 12345678901234567890.0123456789, 'NaN',
   'Infinity', '1 year 2 days 03:04:05.678', '2026-11-26 07:31:00.123456+03', E'tab\there\nnew\\line'),
  (2, '', '{}', '{}', '[]', -0.5, NULL, '-Infinity', '-1 day', 'infinity', ''),
  (3, NULL, NULL, NULL, NULL, NULL, NULL, 'NaN', NULL, NULL, NULL);
UPDATE types SET parent = 1 WHERE id = 2;
INSERT INTO scratch VALUES ('pub1', 'x'), ('priv', 'y');
INSERT INTO measurements SELECT DATE '2025-06-01' + g, g % 7, g * 1.5 FROM generate_series(0, 400) g;
INSERT INTO animals VALUES (1, 'cat');
INSERT INTO dogs VALUES (2, 'rex', 'collie');
INSERT INTO bookings VALUES (1, '[2026-01-01 10:00, 2026-01-01 11:00)');
SELECT setval('ticket_seq', 555);
REFRESH MATERIALIZED VIEW mv;
CREATE FUNCTION avg_acc(state numeric[], x numeric) RETURNS numeric[] LANGUAGE sql IMMUTABLE AS 'SELECT ARRAY[state[1] + x, state[2] + 1]';
CREATE FUNCTION avg_inv(state numeric[], x numeric) RETURNS numeric[] LANGUAGE sql IMMUTABLE AS 'SELECT ARRAY[state[1] - x, state[2] - 1]';
CREATE FUNCTION avg_final(state numeric[]) RETURNS numeric LANGUAGE sql IMMUTABLE AS 'SELECT CASE WHEN state[2] = 0 THEN NULL ELSE state[1] / state[2] END';
CREATE FUNCTION avg_combine(a numeric[], b numeric[]) RETURNS numeric[] LANGUAGE sql IMMUTABLE AS 'SELECT ARRAY[a[1] + b[1], a[2] + b[2]]';
CREATE AGGREGATE "Mixed Case"."My Avg"(numeric) (SFUNC = avg_acc, STYPE = numeric[], FINALFUNC = avg_final,
  INITCOND = '{0,0}', COMBINEFUNC = avg_combine, PARALLEL = SAFE, MSFUNC = avg_acc, MINVFUNC = avg_inv,
  MSTYPE = numeric[], MFINALFUNC = avg_final, MINITCOND = '{0,0}');
CREATE AGGREGATE my_max(integer) (SFUNC = int4larger, STYPE = integer, SORTOP = >);
CREATE AGGREGATE my_count(*) (SFUNC = int8inc, STYPE = int8, INITCOND = '0');
CREATE AGGREGATE my_pct(float8 ORDER BY anyelement) (SFUNC = ordered_set_transition, STYPE = internal,
  FINALFUNC = percentile_disc_final, FINALFUNC_EXTRA);
CREATE AGGREGATE my_rank(VARIADIC "any" ORDER BY VARIADIC "any") (SFUNC = ordered_set_transition_multi,
  STYPE = internal, FINALFUNC = rank_final, FINALFUNC_EXTRA, HYPOTHETICAL);
CREATE VIEW v_avg AS SELECT "Mixed Case"."My Avg"(n) AS a, my_max(id) AS m, my_count(*) AS c,
  my_pct(0.5) WITHIN GROUP (ORDER BY id) AS p, my_rank(2) WITHIN GROUP (ORDER BY id) AS r FROM types;
SELECT lo_from_bytea(424242, (SELECT string_agg(sha256(int4send(g)), '' ORDER BY g) FROM generate_series(1, 20000) g));
SELECT lo_from_bytea(424243, '');
SELECT lo_from_bytea(50000, 'an OID below 424242 that sorts after it as text');
SELECT lo_from_bytea(0, 'a small one');
-- What the object graph orders and the catalog keeps (issue: the fixed-order writer lost these).
CREATE TABLE no_columns ();
INSERT INTO no_columns DEFAULT VALUES;
INSERT INTO no_columns DEFAULT VALUES;
CREATE TYPE person_t AS (name text, age integer);
CREATE TABLE people OF person_t (PRIMARY KEY (name));
INSERT INTO people VALUES ('ann', 40);
CREATE TABLE events (id integer NOT NULL, kind text NOT NULL DEFAULT 'parent', at date NOT NULL) PARTITION BY LIST (kind);
CREATE TABLE events_own (at date NOT NULL, kind text NOT NULL DEFAULT 'own', note text, id integer NOT NULL);
ALTER TABLE events_own DROP COLUMN note;
ALTER TABLE events ATTACH PARTITION events_own FOR VALUES IN ('own', 'parent');
ALTER TABLE events ADD PRIMARY KEY (id, kind);
ALTER INDEX events_own_pkey RENAME TO events_own_key_kept;
CREATE INDEX events_at ON events (at);
ALTER INDEX events_own_at_idx RENAME TO events_own_at_kept;
INSERT INTO events VALUES (1, 'own', '2026-01-02');
CREATE SCHEMA billing;
CREATE TABLE billing.line_items (id integer PRIMARY KEY, amount numeric NOT NULL);
INSERT INTO billing.line_items VALUES (1, 2.5), (2, 4);
CREATE FUNCTION billing.total() RETURNS numeric LANGUAGE sql STABLE
BEGIN ATOMIC
  SELECT sum(amount) FROM billing.line_items;
END;
CREATE FUNCTION aaa_reads_table() RETURNS bigint LANGUAGE sql STABLE
BEGIN ATOMIC SELECT count(*) FROM billing.line_items; SELECT count(*) FROM billing.line_items WHERE id > 0; END;
CREATE TABLE billing.invoices (id integer PRIMARY KEY, total numeric DEFAULT billing.total());
CREATE VIEW billing.by_item AS SELECT l.id, l.amount, count(*) AS n FROM billing.line_items l GROUP BY l.id;
CREATE TABLE tuned (id integer GENERATED BY DEFAULT AS IDENTITY (START WITH 7 INCREMENT BY 3), doc text, n integer)
  WITH (fillfactor = 70, toast.autovacuum_enabled = false);
ALTER TABLE tuned ALTER COLUMN doc SET STORAGE EXTERNAL, ALTER COLUMN doc SET COMPRESSION pglz,
  ALTER COLUMN n SET STATISTICS 500, ALTER COLUMN n SET (n_distinct = 100);
CREATE UNIQUE INDEX tuned_id ON tuned (id);
ALTER TABLE tuned REPLICA IDENTITY USING INDEX tuned_id;
ALTER TABLE tuned CLUSTER ON tuned_id;
INSERT INTO tuned (doc, n) VALUES ('x', 1);
ALTER TABLE "Mixed Case"."select" DISABLE TRIGGER select_touch;
COMMENT ON CONSTRAINT sane ON types IS 'a comment on a constraint';
COMMENT ON INDEX types_expr IS 'a comment on an index';
CREATE TABLE big (id integer PRIMARY KEY, label text);
INSERT INTO big SELECT g, 'row ' || g FROM generate_series(1, 100000) g;
-- Every other kind pg_dump writes for a database (docs/engines.md section 4).
CREATE COLLATION c_copy (provider = libc, locale = 'C');
CREATE COLLATION split_copy (provider = libc, lc_collate = 'C', lc_ctype = 'POSIX');
CREATE CONVERSION latin1_copy FOR 'LATIN1' TO 'UTF8' FROM iso8859_1_to_utf8;
CREATE FUNCTION plhandler_copy() RETURNS language_handler AS '$libdir/plpgsql', 'plpgsql_call_handler' LANGUAGE c;
CREATE FUNCTION plinline_copy(internal) RETURNS void AS '$libdir/plpgsql', 'plpgsql_inline_handler' LANGUAGE c;
CREATE FUNCTION plvalidator_copy(oid) RETURNS void AS '$libdir/plpgsql', 'plpgsql_validator' LANGUAGE c;
CREATE TRUSTED LANGUAGE plcopy HANDLER plhandler_copy INLINE plinline_copy VALIDATOR plvalidator_copy;
CREATE FUNCTION in_copy_language() RETURNS integer LANGUAGE plcopy AS $$ BEGIN RETURN 7; END $$;
CREATE FUNCTION int_to_mood(integer) RETURNS mood LANGUAGE sql IMMUTABLE AS $$ SELECT (enum_range(NULL::mood))[$1] $$;
CREATE CAST (integer AS mood) WITH FUNCTION int_to_mood(integer) AS ASSIGNMENT;
CREATE CAST (mood AS integer) WITH INOUT;
CREATE TYPE textalias;
CREATE FUNCTION textalias_in(cstring) RETURNS textalias AS 'textin' LANGUAGE internal STRICT IMMUTABLE;
CREATE FUNCTION textalias_out(textalias) RETURNS cstring AS 'textout' LANGUAGE internal STRICT IMMUTABLE;
CREATE TYPE textalias (INPUT = textalias_in, OUTPUT = textalias_out, LIKE = text);
CREATE CAST (text AS textalias) WITHOUT FUNCTION AS IMPLICIT;
CREATE TRANSFORM FOR integer LANGUAGE sql (FROM SQL WITH FUNCTION prsd_lextype(internal), TO SQL WITH FUNCTION int4recv(internal));
CREATE FUNCTION mood_is(mood, integer) RETURNS boolean LANGUAGE sql IMMUTABLE AS 'SELECT $1 = int_to_mood($2)';
CREATE FUNCTION mood_is_not(mood, integer) RETURNS boolean LANGUAGE sql IMMUTABLE AS 'SELECT $1 <> int_to_mood($2)';
CREATE OPERATOR === (FUNCTION = mood_is, LEFTARG = mood, RIGHTARG = integer, COMMUTATOR = ===, NEGATOR = !==,
  RESTRICT = eqsel, JOIN = eqjoinsel);
CREATE OPERATOR !== (FUNCTION = mood_is_not, LEFTARG = mood, RIGHTARG = integer, NEGATOR = ===);
CREATE OPERATOR @- (FUNCTION = int4um, RIGHTARG = integer);
CREATE OPERATOR FAMILY int_fam USING btree;
CREATE OPERATOR CLASS int_ops_copy FOR TYPE integer USING btree FAMILY int_fam AS
  OPERATOR 1 <, OPERATOR 2 <=, OPERATOR 3 =, OPERATOR 4 >=, OPERATOR 5 >, FUNCTION 1 btint4cmp(integer, integer);
ALTER OPERATOR FAMILY int_fam USING btree ADD OPERATOR 1 < (integer, bigint), FUNCTION 1 btint48cmp(integer, bigint);
CREATE OPERATOR CLASS text_hash_copy FOR TYPE text USING hash AS OPERATOR 1 =, FUNCTION 1 hashtext(text);
CREATE INDEX counters_id_copy ON counters (id int_ops_copy);
CREATE INDEX big_label_hash ON big USING hash (label text_hash_copy);
CREATE ACCESS METHOD heap_copy TYPE TABLE HANDLER heap_tableam_handler;
CREATE TABLE in_heap_copy (a integer) USING heap_copy;
INSERT INTO in_heap_copy VALUES (1), (2);
CREATE TEXT SEARCH PARSER prs_copy (START = prsd_start, GETTOKEN = prsd_nexttoken, END = prsd_end,
  HEADLINE = prsd_headline, LEXTYPES = prsd_lextype);
CREATE TEXT SEARCH TEMPLATE tmpl_copy (INIT = dsimple_init, LEXIZE = dsimple_lexize);
CREATE TEXT SEARCH DICTIONARY dict_copy (TEMPLATE = tmpl_copy, STOPWORDS = english);
CREATE TEXT SEARCH DICTIONARY simple_copy (TEMPLATE = pg_catalog.simple, accept = false);
CREATE TEXT SEARCH CONFIGURATION cfg_copy (PARSER = prs_copy);
ALTER TEXT SEARCH CONFIGURATION cfg_copy ADD MAPPING FOR word, asciiword WITH simple_copy, dict_copy;
CREATE FOREIGN DATA WRAPPER fdw_copy OPTIONS (debug 'true');
CREATE SERVER srv_copy TYPE 'kind' VERSION '1.0' FOREIGN DATA WRAPPER fdw_copy
  OPTIONS (host 'elsewhere', "Odd Key" 'it''s');
CREATE USER MAPPING FOR PUBLIC SERVER srv_copy OPTIONS (user 'reader');
CREATE USER MAPPING FOR CURRENT_USER SERVER srv_copy OPTIONS (password 'not-a-real-secret');
CREATE FOREIGN TABLE remote_items (id integer OPTIONS (column_name 'item_id') NOT NULL, label text DEFAULT 'x',
  CONSTRAINT remote_positive CHECK (id > 0)) SERVER srv_copy OPTIONS (table_name 'items');
CREATE TABLE parted (id integer, v text) PARTITION BY LIST (id);
CREATE FOREIGN TABLE parted_remote PARTITION OF parted FOR VALUES IN (1) SERVER srv_copy;
CREATE TABLE parted_local PARTITION OF parted FOR VALUES IN (2);
INSERT INTO parted VALUES (2, 'local');
CREATE VIEW v_defaults AS SELECT id, label FROM big;
ALTER VIEW v_defaults ALTER COLUMN label SET DEFAULT 'from view';
CREATE MATERIALIZED VIEW mv_tuned AS SELECT id, label FROM big WHERE id < 10;
ALTER MATERIALIZED VIEW mv_tuned ALTER COLUMN label SET STORAGE EXTERNAL, ALTER COLUMN label SET COMPRESSION pglz,
  ALTER COLUMN id SET STATISTICS 200;
CREATE STATISTICS big_stats (ndistinct, dependencies) ON id, label FROM big;
ALTER STATISTICS big_stats SET STATISTICS 500;
CREATE STATISTICS big_expr_stats ON (id % 10), lower(label) FROM big;
CREATE PUBLICATION pub_all FOR ALL TABLES WITH (publish = 'insert');
COMMENT ON OPERATOR === (mood, integer) IS 'an operator';
COMMENT ON OPERATOR CLASS int_ops_copy USING btree IS 'a class';
COMMENT ON OPERATOR FAMILY int_fam USING btree IS 'a family';
COMMENT ON CONVERSION latin1_copy IS 'a conversion';
COMMENT ON CAST (integer AS mood) IS 'a cast';
COMMENT ON TRANSFORM FOR integer LANGUAGE sql IS 'a transform';
COMMENT ON LANGUAGE plcopy IS 'a language';
COMMENT ON ACCESS METHOD heap_copy IS 'an access method';
COMMENT ON TEXT SEARCH PARSER prs_copy IS 'a parser';
COMMENT ON TEXT SEARCH TEMPLATE tmpl_copy IS 'a template';
COMMENT ON TEXT SEARCH DICTIONARY dict_copy IS 'a dictionary';
COMMENT ON TEXT SEARCH CONFIGURATION cfg_copy IS 'a configuration';
COMMENT ON FOREIGN DATA WRAPPER fdw_copy IS 'a wrapper';
COMMENT ON SERVER srv_copy IS 'a server';
COMMENT ON FOREIGN TABLE remote_items IS 'a foreign table';
COMMENT ON COLUMN remote_items.id IS 'a foreign table column';
COMMENT ON COLUMN pair.left_side IS 'a composite type column';
COMMENT ON COLUMN v_defaults.label IS 'a view column';
COMMENT ON STATISTICS big_stats IS 'statistics';
COMMENT ON LARGE OBJECT 424243 IS 'an empty large object';
CREATE FUNCTION note_ddl() RETURNS event_trigger LANGUAGE plpgsql AS $$ BEGIN END $$;
CREATE EVENT TRIGGER note_ddl_trigger ON ddl_command_end WHEN TAG IN ('CREATE TABLE', 'ALTER TABLE')
  EXECUTE FUNCTION note_ddl();
ALTER EVENT TRIGGER note_ddl_trigger ENABLE ALWAYS;
COMMENT ON EVENT TRIGGER note_ddl_trigger IS 'an event trigger';
CREATE TYPE numrange_named AS RANGE (subtype = numeric, multirange_type_name = num_multi);
CREATE TABLE spans (id integer PRIMARY KEY, m num_multi, fm floatmultirange);
INSERT INTO spans VALUES (1, '{[1,2), [5,6)}', '{[1.5,2.5)}'), (2, '{}', NULL);
COMMENT ON TYPE num_multi IS 'a multirange named by its range';
CREATE LANGUAGE plpgsql_again HANDLER plpgsql_call_handler INLINE plpgsql_inline_handler
  VALIDATOR plpgsql_validator;
COMMENT ON LANGUAGE plpgsql_again IS 'a language of its own, not an extension''s';
CREATE FUNCTION in_again() RETURNS integer LANGUAGE plpgsql_again AS $$ BEGIN RETURN 7; END $$;
CREATE FUNCTION pairs_check() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$;
CREATE CONSTRAINT TRIGGER pairs_checked AFTER INSERT OR UPDATE ON pairs
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION pairs_check();
COMMENT ON TRIGGER pairs_checked ON pairs IS 'a constraint trigger';
`;

/**
 * What PostgreSQL 15 added (CI's server; run after FIXTURE where the
 * server has it): unlogged sequences, publications with column lists, row
 * filters and schemas, NULLS NOT DISTINCT, and an ICU collation (which 14 and older have only
 * when built with ICU).
 */
const FIXTURE_15 = String.raw`
ALTER SEQUENCE tuned_id_seq SET UNLOGGED;
CREATE COLLATION und_icu (provider = icu, locale = 'und', deterministic = false);
CREATE PUBLICATION pub_some FOR TABLE big (id, label) WHERE (id > 10), counters
  WITH (publish = 'insert, update', publish_via_partition_root = true);
CREATE PUBLICATION pub_schema FOR TABLES IN SCHEMA billing WITH (publish = 'insert');
COMMENT ON COLLATION und_icu IS 'a collation';
COMMENT ON PUBLICATION pub_some IS 'a publication';
CREATE TABLE nulls_once (a integer, b integer, CONSTRAINT nulls_once_a UNIQUE NULLS NOT DISTINCT (a));
CREATE UNIQUE INDEX nulls_once_b ON nulls_once (b) NULLS NOT DISTINCT;
INSERT INTO nulls_once VALUES (NULL, 1), (2, NULL);
`;

/**
 * What only PostgreSQL 18 has, run when the server is 18 or newer (CI's is
 * 15; run against 18 with BACKUPY_TEST_PG_URL and its psql and pg_dump first
 * in PATH): named, NO INHERIT and NOT VALID NOT NULL constraints, one with
 * a comment, a NOT NULL children inherit, virtual generated columns, and a
 * NOT ENFORCED check.
 */
const FIXTURE_18 = String.raw`
CREATE TABLE nn18 (
  id integer CONSTRAINT nn18_id_required NOT NULL,
  plain integer NOT NULL,
  local_only integer CONSTRAINT nn18_local NOT NULL NO INHERIT,
  maybe integer,
  half integer GENERATED ALWAYS AS (id / 2) VIRTUAL,
  CONSTRAINT nn18_positive CHECK (id > 0) NOT ENFORCED
);
INSERT INTO nn18 (id, plain, local_only, maybe) VALUES (1, 1, 1, NULL), (-4, 2, 2, 5);
ALTER TABLE nn18 ADD CONSTRAINT nn18_maybe_later NOT NULL maybe NOT VALID;
COMMENT ON CONSTRAINT nn18_plain_not_null ON nn18 IS 'a default-named not-null constraint';
CREATE TABLE nn18_child (extra text CONSTRAINT child_extra_nn NOT NULL) INHERITS (nn18);
INSERT INTO nn18_child (id, plain, local_only, maybe, extra) VALUES (3, 3, 3, 3, 'x');
`;

async function createFixture(): Promise<void> {
  const sql = admin();
  await sql.unsafe(`DROP DATABASE IF EXISTS ${SOURCE} WITH (FORCE)`);
  await sql.unsafe(`CREATE DATABASE ${SOURCE} TEMPLATE template0`);
  await sql.end();
  const db = admin(SOURCE);
  await db.unsafe(FIXTURE).simple();
  const [{ version }] = await db`SELECT current_setting('server_version_num')::int AS version`;
  if (version >= 150000) await db.unsafe(FIXTURE_15).simple();
  if (version >= 180000) await db.unsafe(FIXTURE_18).simple();
  await db.end();
}

async function psql(database: string, args: string[], input?: string) {
  return await new Deno.Command("psql", {
    args: [
      "-X",
      "-q",
      "-v",
      "ON_ERROR_STOP=1",
      "-h",
      server.host,
      "-p",
      String(server.port),
      "-U",
      server.user,
      "-d",
      database,
      ...args,
    ],
    env: { PGPASSWORD: server.password },
    stdout: "piped",
    stderr: "piped",
    stdin: input ? "piped" : "null",
  }).output();
}

async function schemaOf(database: string, withPrivileges = false): Promise<string> {
  const out = await new Deno.Command("pg_dump", {
    args: [
      "--schema-only",
      ...(withPrivileges ? [] : ["--no-owner", "--no-privileges"]),
      "-h",
      server.host,
      "-p",
      String(server.port),
      "-U",
      server.user,
      database,
    ],
    env: { PGPASSWORD: server.password },
    stdout: "piped",
    stderr: "piped",
  }).output();
  assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
  return new TextDecoder().decode(out.stdout)
    .split("\n")
    // Comments, blank lines and pg_dump's per-run \restrict keys are not schema.
    .filter((l) => !l.startsWith("--") && l.trim() !== "" && !/^\\(un)?restrict /.test(l))
    .join("\n");
}

/**
 * psql's stderr without the warning CREATE PUBLICATION gives on a server
 * whose wal_level is not logical (as the test server's): pg_dump's own
 * dump gives it too, and the publication is created.
 */
function withoutWalLevelWarnings(stderr: string): string {
  return stderr.replace(
    /^psql:[^\n]*WARNING: {2}wal_level is insufficient to publish logical changes\nHINT: [^\n]*\n/gm,
    "",
  );
}

/** An ordered digest of every table's rows. */
async function rowDigests(database: string): Promise<Record<string, string>> {
  const db = admin(database);
  // Plain tables: a partitioned one's rows are its partitions', and a foreign one has none here.
  const tables =
    await db`SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname) AS t FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast') ORDER BY 1`;
  const out: Record<string, string> = {};
  for (const { t } of tables) {
    const [row] = await db.unsafe(
      `SELECT count(*)::text AS n, md5(coalesce(string_agg(x::text, '|' ORDER BY x::text), '')) AS d FROM ${t} x`,
    );
    out[t] = `${row.n} ${row.d}`;
  }
  const objects =
    await db`SELECT oid::text AS oid, md5(lo_get(oid)) AS d, obj_description(oid, 'pg_largeobject') AS c
    FROM pg_largeobject_metadata ORDER BY oid`;
  for (const { oid, d, c } of objects) out[`large object ${oid}`] = `${d} ${c}`;
  const aggregates =
    await db`SELECT count(*)::int AS n FROM pg_aggregate a JOIN pg_proc p ON p.oid = a.aggfnoid
    JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')`;
  out["aggregates"] = String(aggregates[0].n);
  const [view] = await db`SELECT * FROM v_avg`.catch(() => [{}]);
  out["v_avg"] = JSON.stringify(view);
  await db.end();
  return out;
}

Deno.test("a hard fixture dumped under a writer restores with psql, schema and rows equal", async () => {
  await createFixture();
  await using dir = await tempDir("backupy-pg-");
  const engine = new PostgresEngine({
    ...server,
    password: new Secret(server.password),
    database: SOURCE,
  });
  assertMatch(await engine.version(), /^PostgreSQL \d+(\.\d+)?$/);
  assert(((await engine.estimateSize()) ?? 0) > 1_000_000);

  const writer = admin(SOURCE);
  let stop = false;
  let transactions = 0;
  const writing = (async () => {
    for (let g = 1; !stop; g++) {
      await writer.begin(async (tx) => {
        await tx`INSERT INTO pairs (grp) VALUES (${g}), (${g})`;
        await tx`UPDATE pair_total SET n = n + 2`;
      });
      transactions++;
    }
  })();
  await new Promise((r) => setTimeout(r, 30));
  const warnings: string[] = [];
  const dump = await engine.dump(new AbortController().signal, { warn: (m) => warnings.push(m) });
  const path = join(dir.path, "dump.sql");
  {
    using file = await Deno.open(path, { write: true, create: true, truncate: true });
    for await (const chunk of dump.readable) {
      for (let at = 0; at < chunk.length;) at += await file.write(chunk.subarray(at));
    }
  }
  await dump.finished;
  stop = true;
  await writing;
  await writer.end();
  assert(transactions > 0, "the writer ran during the dump");
  assertEquals(warnings, []);

  const head = (await Deno.readFile(path)).subarray(0, 64);
  assertEquals(POSTGRES_FORMAT.checkHeader(head), null);

  const target = "backupy_pg_restored";
  const sql = admin();
  await sql.unsafe(`DROP DATABASE IF EXISTS ${target} WITH (FORCE)`);
  await sql.unsafe(`CREATE DATABASE ${target} TEMPLATE template0`);
  await sql.end();
  const restored = await psql(target, ["-f", path]);
  assertEquals(restored.code, 0, new TextDecoder().decode(restored.stderr).slice(0, 3000));
  assertEquals(
    withoutWalLevelWarnings(new TextDecoder().decode(restored.stderr)),
    "",
    "zero errors or warnings",
  );

  const db = admin(target);
  const [inv] =
    await db`SELECT (SELECT n FROM pair_total)::int AS total, (SELECT count(*) FROM pairs)::int AS rows,
    (SELECT count(*) FROM (SELECT grp FROM pairs GROUP BY grp HAVING count(*) <> 2) x)::int AS half`;
  assertEquals(inv.rows, inv.total);
  assertEquals(inv.half, 0);
  const [seq] = await db`SELECT last_value::int AS v FROM ticket_seq`;
  assertEquals(seq.v, 555);
  const [mv] = await db`SELECT n::int FROM mv`;
  assertEquals(mv.n, 3);
  await db.end();

  // pairs and pair_total kept changing after the snapshot: they are checked by the invariant above.
  const [before, after] = [await rowDigests(SOURCE), await rowDigests(target)];
  assertEquals(Object.keys(after), Object.keys(before));
  for (const table of Object.keys(before)) {
    if (/\.pairs$|\.pair_total$/.test(table)) continue;
    assertEquals(after[table], before[table], table);
  }
  const schemaBefore = (await schemaOf(SOURCE)).replace(/SELECT pg_catalog.setval\([^)]*\);/g, "");
  const schemaAfter = (await schemaOf(target)).replace(/SELECT pg_catalog.setval\([^)]*\);/g, "");
  assertEquals(schemaAfter, schemaBefore);
});

Deno.test("failures: wrong password, unknown database, a table the user may not read", async () => {
  const wrong = new PostgresEngine({
    ...server,
    password: new Secret("no-such-password-9"),
    database: "postgres",
  });
  const error = await assertRejects(
    () => wrong.dump(new AbortController().signal),
    DumpError,
    "password authentication failed",
  );
  assert(!error.message.includes("no-such-password-9"));
  const missing = new PostgresEngine({
    ...server,
    password: new Secret(server.password),
    database: "no_such_database_x",
  });
  await assertRejects(
    () => missing.dump(new AbortController().signal),
    DumpError,
    "no_such_database_x",
  );

  await createFixture();
  const sql = admin(SOURCE);
  await sql.unsafe(
    `DROP ROLE IF EXISTS backupy_limited; CREATE ROLE backupy_limited LOGIN PASSWORD 'limited-pw-1'`,
  );
  await sql.unsafe(
    `GRANT USAGE ON SCHEMA public TO backupy_limited; GRANT SELECT ON counters TO backupy_limited`,
  );
  await sql.end();
  try {
    const limited = new PostgresEngine({
      ...server,
      user: "backupy_limited",
      password: new Secret("limited-pw-1"),
      database: SOURCE,
    });
    const dump = await limited.dump(new AbortController().signal);
    const outcome = await Promise.allSettled([new Response(dump.readable).bytes(), dump.finished]);
    const reason = outcome.find((o) => o.status === "rejected") as
      | PromiseRejectedResult
      | undefined;
    assert(reason, "a table the user cannot read fails the dump");
    assertStringIncludes(String(reason.reason?.message), "permission denied");
  } finally {
    const cleanup = admin(SOURCE);
    await cleanup.unsafe(`DROP OWNED BY backupy_limited; DROP ROLE backupy_limited`);
    await cleanup.end();
  }
});

Deno.test("local mode: postgres:// with PGPASSWORD backs up and restores with backupy-decrypt + psql", async () => {
  await createFixture();
  await using dir = await tempDir("backupy-pg-local-");
  const result = await runAgent(
    [
      "backup",
      "--target",
      `postgres://${server.user}@${server.host}:${server.port}/${SOURCE}`,
      "--out",
      join(dir.path, "p.enc"),
      "--generate-key",
      join(dir.path, "p.key"),
    ],
    { PGPASSWORD: server.password },
  );
  assertEquals(result.code, 0, result.stderr);
  assertMatch(result.stderr, /OK: backed up PostgreSQL \d+/);
  assert(!result.stderr.includes(server.password));
  const command = /restore: (backupy-decrypt .*)$/m.exec(result.stderr)![1];
  const sqlPath = join(dir.path, "p.sql");
  const decrypted = await runDecrypt(
    command.split(" ").slice(1).map((a) => a === "RESTORED_FILE" ? sqlPath : a),
  );
  assertEquals(decrypted.code, 0, decrypted.stderr);
  const target = "backupy_pg_local_restored";
  const sql = admin();
  await sql.unsafe(`DROP DATABASE IF EXISTS ${target} WITH (FORCE)`);
  await sql.unsafe(`CREATE DATABASE ${target} TEMPLATE template0`);
  await sql.end();
  const restored = await psql(target, ["-f", sqlPath]);
  assertEquals(restored.code, 0, new TextDecoder().decode(restored.stderr).slice(0, 2000));
  const [before, after] = [await rowDigests(SOURCE), await rowDigests(target)];
  assertEquals(after, before);
});

Deno.test("native restore: backupy-agent restore replays our dump in one transaction; a non-empty database is refused", async () => {
  await createFixture();
  await using dir = await tempDir("backupy-pg-restore-");
  const env = { PGPASSWORD: server.password };
  const base = `postgres://${server.user}@${server.host}:${server.port}`;
  const out = join(dir.path, "b.enc");
  const key = join(dir.path, "b.key");
  const backup = await runAgent([
    "backup",
    "--target",
    `${base}/${SOURCE}`,
    "--out",
    out,
    "--generate-key",
    key,
  ], env);
  assertEquals(backup.code, 0, backup.stderr);
  const sha = /sha256:\s+([0-9a-f]{64})/.exec(backup.stderr)![1];
  const target = "backupy_pg_native";
  const sql = admin();
  await sql.unsafe(`DROP DATABASE IF EXISTS ${target} WITH (FORCE)`);
  await sql.end();
  const restore = await runAgent([
    "restore",
    "--target",
    `${base}/${target}`,
    "--in",
    out,
    "--key-file",
    key,
    "--sha256",
    sha,
  ], env);
  assertEquals(restore.code, 0, restore.stderr);
  assertMatch(restore.stderr, /OK: restored \d+ statements/);
  assertEquals(await rowDigests(target), await rowDigests(SOURCE));
  const normal = (text: string) => text.replace(/SELECT pg_catalog.setval\([^)]*\);/g, "");
  assertEquals(normal(await schemaOf(target)), normal(await schemaOf(SOURCE)));

  const again = await runAgent([
    "restore",
    "--target",
    `${base}/${target}`,
    "--in",
    out,
    "--key-file",
    key,
    "--sha256",
    sha,
  ], env);
  assertEquals(again.code, 1);
  assertStringIncludes(again.stderr, "already has");

  // --clean drops and recreates it; --no-single-transaction commits as it goes.
  const marker = admin(target);
  await marker.unsafe(`CREATE TABLE left_behind (id int)`);
  await marker.end();
  const clean = await runAgent([
    "restore",
    "--target",
    `${base}/${target}`,
    "--in",
    out,
    "--key-file",
    key,
    "--sha256",
    sha,
    "--clean",
    "--no-single-transaction",
  ], env);
  assertEquals(clean.code, 0, clean.stderr);
  assertEquals(await rowDigests(target), await rowDigests(SOURCE));
  const check = admin(target);
  const [{ n }] =
    await check`SELECT count(*)::int AS n FROM pg_class WHERE relname = 'left_behind'`;
  await check.end();
  assertEquals(n, 0, "--clean started from an empty database");
});

Deno.test("--with-privileges: owners and grants restore as they were; without it, none are written", async () => {
  const source = "backupy_pg_privs";
  const target = "backupy_pg_privs_restored";
  const sql = admin();
  for (const db of [source, target]) await sql.unsafe(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
  await sql.unsafe(`CREATE DATABASE ${source} TEMPLATE template0`);
  for (const role of ["backupy_app_owner", `backupy "reader"`]) {
    const quoted = `"${role.replaceAll('"', '""')}"`;
    await sql.unsafe(
      `DO $$ BEGIN CREATE ROLE ${quoted}; EXCEPTION WHEN duplicate_object THEN NULL; END $$`,
    );
  }
  await sql.end();
  const db = admin(source);
  await db.unsafe(`
    CREATE SCHEMA app AUTHORIZATION backupy_app_owner;
    CREATE TABLE app.accounts (id int PRIMARY KEY, owner_name text);
    ALTER TABLE app.accounts OWNER TO backupy_app_owner;
    GRANT SELECT, UPDATE ON app.accounts TO "backupy ""reader""" WITH GRANT OPTION;
    GRANT INSERT ON app.accounts TO PUBLIC;
    GRANT USAGE ON SCHEMA app TO "backupy ""reader""";
    CREATE SEQUENCE app.ids; ALTER SEQUENCE app.ids OWNER TO backupy_app_owner;
    CREATE VIEW app.names AS SELECT owner_name FROM app.accounts; ALTER VIEW app.names OWNER TO backupy_app_owner;
    CREATE FUNCTION app.secret() RETURNS int LANGUAGE sql AS 'SELECT 42';
    REVOKE EXECUTE ON FUNCTION app.secret() FROM PUBLIC;
    GRANT EXECUTE ON FUNCTION app.secret() TO "backupy ""reader""";
    CREATE AGGREGATE app.total(int) (SFUNC = int4pl, STYPE = int);
    ALTER AGGREGATE app.total(int) OWNER TO backupy_app_owner;
    CREATE TYPE app.state AS ENUM ('on', 'off'); ALTER TYPE app.state OWNER TO backupy_app_owner;
    CREATE DOMAIN app.pos AS int CHECK (VALUE > 0); ALTER DOMAIN app.pos OWNER TO backupy_app_owner;
    CREATE TYPE app.later; ALTER TYPE app.later OWNER TO backupy_app_owner;
    CREATE TABLE app.events (at date) PARTITION BY RANGE (at);
    ALTER TABLE app.events OWNER TO backupy_app_owner;
    GRANT SELECT ON app.events TO "backupy ""reader""";
    SELECT lo_from_bytea(777001, 'owned');
    ALTER LARGE OBJECT 777001 OWNER TO backupy_app_owner;
    GRANT SELECT ON LARGE OBJECT 777001 TO "backupy ""reader""";
    INSERT INTO app.accounts VALUES (1, 'ann');
    GRANT SELECT (owner_name), UPDATE (owner_name) ON app.accounts TO "backupy ""reader""";
    ALTER DEFAULT PRIVILEGES FOR ROLE backupy_app_owner REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;
    ALTER DEFAULT PRIVILEGES FOR ROLE backupy_app_owner IN SCHEMA app GRANT SELECT ON TABLES TO "backupy ""reader""";
    ALTER DEFAULT PRIVILEGES FOR ROLE backupy_app_owner GRANT USAGE ON TYPES TO "backupy ""reader""" WITH GRANT OPTION;
    CREATE FOREIGN DATA WRAPPER app_fdw;
    GRANT USAGE ON FOREIGN DATA WRAPPER app_fdw TO "backupy ""reader""";
    CREATE SERVER app_server FOREIGN DATA WRAPPER app_fdw; ALTER SERVER app_server OWNER TO backupy_app_owner;
    GRANT USAGE ON FOREIGN SERVER app_server TO "backupy ""reader""";
    CREATE FOREIGN TABLE app.remote (id int) SERVER app_server; ALTER FOREIGN TABLE app.remote OWNER TO backupy_app_owner;
    GRANT SELECT ON app.remote TO "backupy ""reader""";
    CREATE FUNCTION app_handler() RETURNS language_handler AS '$libdir/plpgsql', 'plpgsql_call_handler' LANGUAGE c;
    CREATE TRUSTED LANGUAGE app_lang HANDLER app_handler; ALTER LANGUAGE app_lang OWNER TO backupy_app_owner;
    GRANT USAGE ON LANGUAGE app_lang TO "backupy ""reader""";
    CREATE COLLATION app.c (provider = libc, locale = 'C'); ALTER COLLATION app.c OWNER TO backupy_app_owner;
    CREATE OPERATOR app.### (FUNCTION = int4pl, LEFTARG = int, RIGHTARG = int);
    ALTER OPERATOR app.### (int, int) OWNER TO backupy_app_owner;
    CREATE TEXT SEARCH CONFIGURATION app.cfg (COPY = pg_catalog.simple);
    ALTER TEXT SEARCH CONFIGURATION app.cfg OWNER TO backupy_app_owner;
    CREATE STATISTICS app.stats ON id, owner_name FROM app.accounts; ALTER STATISTICS app.stats OWNER TO backupy_app_owner;
    CREATE PUBLICATION app_pub FOR TABLE app.accounts WITH (publish = 'insert'); ALTER PUBLICATION app_pub OWNER TO backupy_app_owner;
    -- Grants changed on what the dump does not create: a system catalog's column, an extension's function.
    GRANT SELECT (prosrc) ON pg_catalog.pg_proc TO "backupy ""reader""";
    REVOKE SELECT ON pg_catalog.pg_config FROM pg_read_all_settings;
    CREATE EXTENSION IF NOT EXISTS pgcrypto;
    REVOKE EXECUTE ON FUNCTION gen_random_uuid() FROM PUBLIC;
    GRANT EXECUTE ON FUNCTION digest(text, text) TO backupy_app_owner;
  `).simple();
  await db.end();
  await using dir = await tempDir("backupy-pg-privs-");
  const env = { PGPASSWORD: server.password };
  const base = `postgres://${server.user}@${server.host}:${server.port}`;
  const backup = async (name: string, flags: string[]) =>
    (await backupToSql(`${base}/${source}`, dir.path, name, { flags, compression: "none", env }))
      .sql;
  const plain = await Deno.readTextFile(await backup("plain", []));
  assertEquals(/OWNER TO|GRANT /.test(plain), false, "no owners or grants by default");

  const withPrivileges = await backup("privs", ["--with-privileges"]);
  const create = admin();
  await create.unsafe(`CREATE DATABASE ${target} TEMPLATE template0`);
  await create.end();
  const restored = await psql(target, ["-f", withPrivileges]);
  assertEquals(restored.code, 0, new TextDecoder().decode(restored.stderr).slice(0, 2000));
  assertEquals(withoutWalLevelWarnings(new TextDecoder().decode(restored.stderr)), "");
  assertEquals(await schemaOf(target, true), await schemaOf(source, true));
  const owners = async (name: string) => {
    const c = admin(name);
    const rows = await c`SELECT oid::text, pg_get_userbyid(lomowner) AS owner, lomacl::text AS acl
      FROM pg_largeobject_metadata ORDER BY oid`;
    await c.end();
    return rows.map((r) => ({ ...r }));
  };
  assertEquals(await owners(target), await owners(source));
});

Deno.test("failures: the backend killed mid-dump fails the dump; a full disk fails the backup and leaves no file", async () => {
  await createFixture();
  const engine = new PostgresEngine({
    ...server,
    password: new Secret(server.password),
    database: SOURCE,
  });
  const dump = await engine.dump(new AbortController().signal);
  const finished = dump.finished.then(() => null, (error: Error) => error);
  const reader = dump.readable.getReader();
  const first = await reader.read();
  assert(!first.done, "the header arrives");
  // The dump waits on backpressure; kill its backend as an administrator would.
  const sql = admin();
  const killed = await sql`SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity
    WHERE application_name = 'backupy-agent' AND datname = ${SOURCE}`;
  await sql.end();
  assert(killed.length > 0 && killed.every((k) => k.ok), "the dump's backend was found and killed");
  const rest = await (async () => {
    try {
      for (;;) if ((await reader.read()).done) return null;
    } catch (error) {
      return error as Error;
    }
  })();
  const failure = rest ?? await finished;
  assert(failure, "a dump whose backend was killed must not end cleanly");
  // The driver's words vary with the moment the backend died.
  assertMatch(failure.message, /terminat|connection|closed|ECONNRESET|ended by the other party/i);
  assertEquals((await finished) !== null, true);

  // A staging directory on a full file system.
  const mount = await Deno.makeTempDir({ prefix: "backupy-full-" });
  const mounted = await new Deno.Command("mount", {
    args: ["-t", "tmpfs", "-o", "size=256k", "tmpfs", mount],
  }).output();
  assertEquals(mounted.code, 0, `mount a small tmpfs: ${new TextDecoder().decode(mounted.stderr)}`);
  try {
    const out = join(mount, "full.enc");
    const result = await runAgent([
      "backup",
      "--target",
      `postgres://${server.user}@${server.host}:${server.port}/${SOURCE}`,
      "--out",
      out,
      "--generate-key",
      join(mount, "k"),
      "--compression",
      "none",
    ], { PGPASSWORD: server.password });
    assertEquals(result.code, 1, result.stderr);
    assertMatch(result.stderr, /no space left on device/i);
    assertEquals(
      [...Deno.readDirSync(mount)].map((e) => e.name).filter((n) => n !== "k"),
      [],
      "no partial output or staging file is left",
    );
  } finally {
    await new Deno.Command("umount", { args: [mount] }).output();
    await Deno.remove(mount, { recursive: true });
  }
});

Deno.test("failures: a table locked by someone else fails the dump with its name instead of hanging", async () => {
  await createFixture();
  const holder = admin(SOURCE);
  const locked = await holder.reserve();
  await locked`BEGIN`;
  await locked`LOCK TABLE big IN ACCESS EXCLUSIVE MODE`;
  try {
    const engine = new PostgresEngine({
      ...server,
      password: new Secret(server.password),
      database: SOURCE,
      lockTimeoutMs: 300,
    });
    const dump = await engine.dump(new AbortController().signal);
    const outcome = await Promise.allSettled([new Response(dump.readable).bytes(), dump.finished]);
    const reason = outcome.find((o) => o.status === "rejected") as
      | PromiseRejectedResult
      | undefined;
    assert(reason, "a locked table fails the dump");
    assertStringIncludes(String(reason.reason?.message), "cannot lock table public.big");
    assertStringIncludes(String(reason.reason?.message), "lock timeout");
  } finally {
    await locked`ROLLBACK`;
    locked.release();
    await holder.end();
  }
});
