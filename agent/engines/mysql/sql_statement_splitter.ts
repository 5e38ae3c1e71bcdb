/**
 * Splits MySQL dump text into statements the way the `mysql` client does:
 * statements end at the current delimiter outside quotes and comments, and
 * `DELIMITER x` lines (a client command, never sent to the server) change
 * the delimiter. Quotes are ', " and ` with backslash escapes in the first
 * two; comments are `-- `, `#` and `/* *\/` (executable `/*! *\/` comments
 * are kept: the server runs them).
 *
 * @module
 */

type State = "code" | "single" | "double" | "backtick" | "block-comment";

/**
 * A push splitter: feed text in any chunking, get whole statements. Text is
 * processed a whole line at a time, so every look-ahead (delimiters, comment
 * openers, escapes) stays inside one line whatever the chunking.
 *
 * @example
 * ```ts
 * import { StatementSplitter } from "./sql_statement_splitter.ts";
 * const s = new StatementSplitter();
 * const out = s.push("SELECT ';';\nDELIMITER ;;\nCREATE PROCEDURE p() BEGIN SELECT 1; END ;;\nDELIMITER ;\n");
 * console.assert(out.length === 2 && out[1].endsWith("END"));
 * ```
 */
export class StatementSplitter {
  #delimiter = ";";
  #state: State = "code";
  #parts: string[] = [];
  #partial = "";

  /** Feeds text; returns the statements it completed (trimmed, without delimiters). */
  push(text: string): string[] {
    const out: string[] = [];
    const input = this.#partial + text;
    let start = 0;
    for (let end = input.indexOf("\n"); end >= 0; end = input.indexOf("\n", start)) {
      this.#line(input.slice(start, end + 1), out);
      start = end + 1;
    }
    this.#partial = input.slice(start);
    return out;
  }

  /** At the end of input: the last statement if it had no delimiter; throws inside a quote. */
  finish(): string[] {
    const out: string[] = [];
    if (this.#partial !== "") this.#line(this.#partial, out);
    this.#partial = "";
    if (this.#state === "single" || this.#state === "double" || this.#state === "backtick") {
      throw new Error("the SQL ends inside a quoted string: the dump is truncated");
    }
    const last = this.#parts.join("").trim();
    this.#parts = [];
    if (last !== "") out.push(last);
    return out;
  }

  #line(line: string, out: string[]): void {
    if (this.#state === "code" && this.#parts.join("").trim() === "") {
      // DELIMITER is a client command on a line of its own: never sent to the server.
      const match = /^\s*DELIMITER\s+(\S+)\s*$/i.exec(line);
      if (match) {
        this.#delimiter = match[1];
        this.#parts = [];
        return;
      }
    }
    let from = 0; // start of the text not yet copied into #parts
    const keep = (to: number) => {
      if (to > from) this.#parts.push(line.slice(from, to));
    };
    for (let i = 0; i < line.length; i++) {
      const c = line[i];
      switch (this.#state) {
        case "code":
          if (line.startsWith(this.#delimiter, i)) {
            keep(i);
            const statement = this.#parts.join("").trim();
            if (statement !== "") out.push(statement);
            this.#parts = [];
            i += this.#delimiter.length - 1;
            from = i + 1;
          } else if (c === "'") this.#state = "single";
          else if (c === '"') this.#state = "double";
          else if (c === "`") this.#state = "backtick";
          else if (
            c === "#" || (c === "-" && line[i + 1] === "-" && /[\s]/.test(line[i + 2] ?? "\n"))
          ) {
            keep(i); // the rest of the line is a comment
            this.#parts.push("\n");
            return;
          } else if (c === "/" && line[i + 1] === "*" && line[i + 2] !== "!") {
            keep(i);
            this.#state = "block-comment";
            i++;
          }
          break;
        case "single":
        case "double":
          if (c === "\\") i++; // the escaped character, whatever it is
          else if (c === (this.#state === "single" ? "'" : '"')) this.#state = "code";
          break;
        case "backtick":
          if (c === "`") this.#state = "code";
          break;
        case "block-comment":
          if (c === "*" && line[i + 1] === "/") {
            this.#state = "code";
            i++;
            from = i + 1;
          }
          break;
      }
    }
    if (this.#state !== "block-comment") keep(line.length);
  }
}
