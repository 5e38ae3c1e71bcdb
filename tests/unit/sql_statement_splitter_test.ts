/** Statement splitting of MySQL dump text, in any chunking. */
import { assertEquals, assertThrows } from "../support/assert.ts";
import { StatementSplitter } from "../../agent/engines/mysql/sql_statement_splitter.ts";

const DUMP = `-- MariaDB dump
/*!40101 SET NAMES utf8mb4 */;
# a hash comment; with a semicolon
CREATE TABLE \`t;x\` (a TEXT DEFAULT 'x;y', b INT) /* a ; comment */;
INSERT INTO \`t;x\` VALUES ('it\\'s; fine',1),("dq; \\"x\\"",2),('back\\\\slash',3);
DELIMITER ;;
CREATE PROCEDURE p()
BEGIN
  SELECT 'a;b';
  SELECT 2;
END ;;
DELIMITER ;
--
-- Dump completed
SELECT 'last'`;

const EXPECTED = [
  "/*!40101 SET NAMES utf8mb4 */",
  "CREATE TABLE `t;x` (a TEXT DEFAULT 'x;y', b INT)",
  "INSERT INTO `t;x` VALUES ('it\\'s; fine',1),(\"dq; \\\"x\\\"\",2),('back\\\\slash',3)",
  "CREATE PROCEDURE p()\nBEGIN\n  SELECT 'a;b';\n  SELECT 2;\nEND",
  "SELECT 'last'",
];

function split(text: string, size: number): string[] {
  const splitter = new StatementSplitter();
  const out: string[] = [];
  for (let at = 0; at < text.length; at += size) {
    out.push(...splitter.push(text.slice(at, at + size)));
  }
  out.push(...splitter.finish());
  return out;
}

Deno.test("statements, quotes, comments and DELIMITER in one piece", () => {
  assertEquals(split(DUMP, DUMP.length), EXPECTED);
});

for (const size of [1, 2, 3, 7, 13]) {
  Deno.test(`the same in pieces of ${size}`, () => {
    assertEquals(split(DUMP, size), EXPECTED);
  });
}

Deno.test("a dump that ends inside a string is truncated", () => {
  const splitter = new StatementSplitter();
  splitter.push("INSERT INTO t VALUES ('unterminated");
  assertThrows(() => splitter.finish(), Error, "ends inside a quoted string");
});
