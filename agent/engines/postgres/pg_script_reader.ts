/**
 * Reads a plain-SQL PostgreSQL dump (the kind this agent writes) as psql
 * would: statements end at a `;` outside quotes, dollar quotes, comments,
 * parentheses and the `BEGIN ATOMIC ... END` body of a CREATE FUNCTION or
 * PROCEDURE (psql's own rule: in such a statement BEGIN opens a block,
 * CASE inside one opens another, END closes one), and a `COPY ... FROM stdin;` statement is followed by data lines
 * up to a line `\.`. Text is processed a whole line at a time, so any
 * chunking of the input gives the same result.
 *
 * @module
 */

/**
 * One thing to execute. A COPY comes as its statement, then its data in
 * pieces (never the whole table in memory), then its end.
 */
export type ScriptItem =
  | { kind: "statement"; sql: string }
  | { kind: "copy-start"; sql: string }
  | { kind: "copy-data"; text: string }
  | { kind: "copy-end" }
  /** psql's `\connect`: what follows belongs to another database. */
  | { kind: "connect"; database: string };

type State = "code" | "single" | "escape" | "double" | "dollar" | "block-comment";

/**
 * A push reader: feed text, get statements and COPY blocks.
 *
 * @example
 * ```ts
 * import { PgScriptReader } from "./pg_script_reader.ts";
 * const r = new PgScriptReader();
 * const items = r.push("CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql;\nCOPY t (a) FROM stdin;\n1\n\\.\n");
 * console.assert(items.map((i) => i.kind).join() === "statement,copy-start,copy-data,copy-end");
 * ```
 */
export class PgScriptReader {
  #state: State = "code";
  #dollarTag = "";
  #commentDepth = 0;
  #parts: string[] = [];
  #partial = "";
  #inCopy = false;
  /** The statement's first words, as far as they may spell CREATE [OR REPLACE] FUNCTION|PROCEDURE. */
  #firstWords: string[] = [];
  #parenDepth = 0;
  #beginDepth = 0;

  /** Feeds text; returns what it completed. */
  push(text: string): ScriptItem[] {
    const out: ScriptItem[] = [];
    const input = this.#partial + text;
    let start = 0;
    for (let end = input.indexOf("\n", start); end >= 0; end = input.indexOf("\n", start)) {
      this.#line(input.slice(start, end + 1), out);
      start = end + 1;
    }
    this.#partial = input.slice(start);
    return out;
  }

  /** At the end of input; throws if it stops inside a statement or a COPY block. */
  finish(): ScriptItem[] {
    const out: ScriptItem[] = [];
    if (this.#partial !== "") this.#line(`${this.#partial}\n`, out);
    this.#partial = "";
    if (this.#inCopy) throw new Error("the dump ends inside COPY data: it is truncated");
    if (this.#state !== "code" && this.#state !== "block-comment") {
      // single, escape, double or dollar: an unterminated quote
      throw new Error("the dump ends inside a quoted string: it is truncated");
    }
    const rest = this.#parts.join("").trim();
    if (rest !== "") out.push({ kind: "statement", sql: rest });
    this.#parts = [];
    return out;
  }

  /** Tracks BEGIN ... END blocks in the body of a CREATE FUNCTION or PROCEDURE. */
  #word(word: string): void {
    if (this.#firstWords.length < 4) this.#firstWords.push(word);
    const [a, b, c, d] = this.#firstWords;
    const routine = (w: string | undefined) => w === "function" || w === "procedure";
    const createsRoutine = a === "create" &&
      (routine(b) || (b === "or" && c === "replace" && routine(d)));
    if (!createsRoutine || this.#parenDepth > 0) return;
    if (word === "begin") this.#beginDepth++;
    else if (word === "case" && this.#beginDepth > 0) this.#beginDepth++;
    else if (word === "end" && this.#beginDepth > 0) this.#beginDepth--;
  }

  #line(line: string, out: ScriptItem[]): void {
    if (this.#inCopy) {
      if (line === "\\.\n" || line === "\\.\r\n") {
        out.push({ kind: "copy-end" });
        this.#inCopy = false;
        return;
      }
      // Consecutive data lines travel together.
      const last = out.at(-1);
      if (last?.kind === "copy-data") last.text += line;
      else out.push({ kind: "copy-data", text: line });
      return;
    }
    if (line.startsWith("\\") && this.#state === "code" && this.#parts.join("").trim() === "") {
      out.push({ kind: "connect", database: parseConnect(line) });
      this.#parts = [];
      return;
    }
    let from = 0;
    const keep = (to: number) => {
      if (to > from) this.#parts.push(line.slice(from, to));
    };
    for (let i = 0; i < line.length; i++) {
      const c = line[i];
      switch (this.#state) {
        case "code":
          if (c === ";" && this.#parenDepth === 0 && this.#beginDepth === 0) {
            keep(i);
            this.#firstWords = [];
            const sql = this.#parts.join("").trim();
            this.#parts = [];
            from = i + 1;
            if (sql === "") break;
            if (/^COPY\b[\s\S]*\bFROM\s+stdin$/i.test(sql)) {
              // The data lines start on the next line.
              out.push({ kind: "copy-start", sql });
              this.#inCopy = true;
              return;
            }
            out.push({ kind: "statement", sql });
          } else if (c === "(") this.#parenDepth++;
          else if (c === ")") this.#parenDepth = Math.max(0, this.#parenDepth - 1);
          else if (
            /[A-Za-z_\u0080-\uffff]/.test(c) &&
            !/[A-Za-z0-9_$\u0080-\uffff]/.test(line[i - 1] ?? " ")
          ) {
            const word =
              /^[A-Za-z_\u0080-\uffff][A-Za-z0-9_$\u0080-\uffff]*/.exec(line.slice(i))![0];
            this.#word(word.toLowerCase());
            i += word.length - 1;
          } else if (c === "'") {
            // E'...' strings take backslash escapes.
            const e = line[i - 1];
            this.#state = (e === "E" || e === "e") && !/[A-Za-z0-9_]/.test(line[i - 2] ?? " ")
              ? "escape"
              : "single";
          } else if (c === '"') this.#state = "double";
          else if (c === "$") {
            const tag = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(line.slice(i));
            // A dollar quote opens only where an identifier is not going on.
            if (tag && !/[A-Za-z0-9_]/.test(line[i - 1] ?? " ")) {
              this.#state = "dollar";
              this.#dollarTag = tag[0];
              i += tag[0].length - 1;
            }
          } else if (c === "-" && line[i + 1] === "-") {
            keep(i);
            this.#parts.push("\n");
            return;
          } else if (c === "/" && line[i + 1] === "*") {
            keep(i);
            this.#state = "block-comment";
            this.#commentDepth = 1;
            i++;
          }
          break;
        case "single":
          if (c === "'") {
            if (line[i + 1] === "'") i++; // '' inside a string
            else this.#state = "code";
          }
          break;
        case "escape":
          if (c === "\\") i++;
          else if (c === "'") {
            if (line[i + 1] === "'") i++;
            else this.#state = "code";
          }
          break;
        case "double":
          if (c === '"') {
            if (line[i + 1] === '"') i++;
            else this.#state = "code";
          }
          break;
        case "dollar":
          if (c === "$" && line.startsWith(this.#dollarTag, i)) {
            i += this.#dollarTag.length - 1;
            this.#state = "code";
          }
          break;
        case "block-comment":
          if (c === "/" && line[i + 1] === "*") {
            this.#commentDepth++;
            i++;
          } else if (c === "*" && line[i + 1] === "/") {
            i++;
            if (--this.#commentDepth === 0) {
              this.#state = "code";
              from = i + 1;
            }
          }
          break;
      }
    }
    if (this.#state !== "block-comment") keep(line.length);
  }
}

/**
 * The database of a `\connect -reuse-previous=on "dbname='...'"` line (the
 * only meta-command this agent's dumps contain); anything else is refused.
 */
function parseConnect(line: string): string {
  const quoted = /^\\connect -reuse-previous=on "((?:[^"]|"")*)"\s*$/.exec(line)?.[1];
  const conninfo = quoted?.replaceAll('""', '"');
  const value = conninfo === undefined
    ? undefined
    : /^dbname='((?:[^'\\]|\\.)*)'$/.exec(conninfo)?.[1];
  if (value === undefined) {
    throw new Error(`unsupported psql meta-command: ${JSON.stringify(line.trim().slice(0, 80))}`);
  }
  return value.replace(/\\(.)/g, "$1");
}
