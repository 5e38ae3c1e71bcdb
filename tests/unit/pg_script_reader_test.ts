/** Reading a plain-SQL PostgreSQL dump: statements, dollar quotes, comments, COPY blocks. */
import { assertEquals, assertThrows } from "../support/assert.ts";
import { PgScriptReader, type ScriptItem } from "../../agent/engines/postgres/pg_script_reader.ts";
import { connectCommand } from "../../agent/engines/postgres/postgres_snapshot.ts";

const SCRIPT = String.raw`--
-- PostgreSQL database dump
--
SET standard_conforming_strings = on;
CREATE FUNCTION public.f(x integer) RETURNS integer
    LANGUAGE plpgsql
    AS $function$ BEGIN RETURN x; /* ; */ END; $function$;
CREATE TABLE "we;ird" ("a;b" text DEFAULT 'x;''y', c text DEFAULT E'back\'slash;');
/* a comment /* nested ; */ still comment ; */
COPY "we;ird" ("a;b", c) FROM stdin;
one	two;three
\N	tab\there
\.
COMMENT ON TABLE "we;ird" IS 'it''s; fine';
SELECT $$a;b$$, $tag$ $$ ; $tag$;
BEGIN;
CREATE OR REPLACE FUNCTION billing.total(n integer DEFAULT 1) RETURNS numeric
    LANGUAGE sql
BEGIN ATOMIC
 SELECT CASE WHEN n > 0 THEN sum(amount) ELSE 0 END FROM billing.line_items;
 SELECT 1;
END;
CREATE PROCEDURE p() LANGUAGE sql BEGIN ATOMIC INSERT INTO t VALUES (1); END;
COMMIT;
`;

const EXPECTED: ScriptItem[] = [
  { kind: "statement", sql: "SET standard_conforming_strings = on" },
  {
    kind: "statement",
    sql:
      "CREATE FUNCTION public.f(x integer) RETURNS integer\n    LANGUAGE plpgsql\n    AS $function$ BEGIN RETURN x; /* ; */ END; $function$",
  },
  {
    kind: "statement",
    sql: String
      .raw`CREATE TABLE "we;ird" ("a;b" text DEFAULT 'x;''y', c text DEFAULT E'back\'slash;')`,
  },
  { kind: "copy-start", sql: `COPY "we;ird" ("a;b", c) FROM stdin` },
  { kind: "copy-data", text: "one\ttwo;three\n\\N\ttab\\there\n" },
  { kind: "copy-end" },
  { kind: "statement", sql: `COMMENT ON TABLE "we;ird" IS 'it''s; fine'` },
  { kind: "statement", sql: "SELECT $$a;b$$, $tag$ $$ ; $tag$" },
  // A transaction's BEGIN opens no block; a SQL-standard body is one statement, CASE ... END inside it.
  { kind: "statement", sql: "BEGIN" },
  {
    kind: "statement",
    sql:
      "CREATE OR REPLACE FUNCTION billing.total(n integer DEFAULT 1) RETURNS numeric\n    LANGUAGE sql\n" +
      "BEGIN ATOMIC\n SELECT CASE WHEN n > 0 THEN sum(amount) ELSE 0 END FROM billing.line_items;\n SELECT 1;\nEND",
  },
  {
    kind: "statement",
    sql: "CREATE PROCEDURE p() LANGUAGE sql BEGIN ATOMIC INSERT INTO t VALUES (1); END",
  },
  { kind: "statement", sql: "COMMIT" },
];

function read(text: string, size: number): ScriptItem[] {
  const reader = new PgScriptReader();
  const out: ScriptItem[] = [];
  for (let at = 0; at < text.length; at += size) {
    out.push(...reader.push(text.slice(at, at + size)));
  }
  out.push(...reader.finish());
  // COPY data may arrive in several pieces: join neighbours for the comparison.
  const joined: ScriptItem[] = [];
  for (const item of out) {
    const last = joined.at(-1);
    if (item.kind === "copy-data" && last?.kind === "copy-data") last.text += item.text;
    else joined.push({ ...item });
  }
  return joined;
}

for (const size of [SCRIPT.length, 1, 3, 17]) {
  Deno.test(`statements and COPY blocks, in pieces of ${size}`, () => {
    assertEquals(read(SCRIPT, size), EXPECTED);
  });
}

Deno.test("a dump cut inside COPY data or a dollar quote is truncated", () => {
  assertThrows(() => read("COPY t (a) FROM stdin;\n1\n", 5), Error, "inside COPY data");
  assertThrows(
    () => read("CREATE FUNCTION f() AS $x$ SELECT 1;", 5),
    Error,
    "inside a quoted string",
  );
});

Deno.test("\\connect lines of a whole-server dump come out as the database they name", () => {
  const names = ["app", `odd "db" = one`, "it's\\here", "dbname=x host=evil"];
  const script = names.map((n) => `${connectCommand(n)}SELECT 1;\n`).join("");
  const items = new PgScriptReader().push(script);
  assertEquals(
    items.filter((i) => i.kind === "connect").map((i) => (i as { database: string }).database),
    names,
  );
  assertThrows(
    () => new PgScriptReader().push("\\! rm -rf /\n"),
    Error,
    "unsupported psql meta-command",
  );
});
