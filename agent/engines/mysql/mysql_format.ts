/**
 * How a MySQL/MariaDB SQL dump starts (ours and mysqldump's/mariadb-dump's).
 *
 * @module
 */
import { describeBytes, type DumpFormat } from "../shared/engine.ts";

/** What a dump's first line must be: `-- MySQL dump` or `-- MariaDB dump`, maybe after the sandbox line. */
export const MYSQL_FORMAT: DumpFormat = {
  description: "MySQL/MariaDB SQL dump",
  headerBytes: 64,
  checkHeader(head) {
    const text = new TextDecoder().decode(head);
    // mariadb-dump since 10.11.8 / 11.x starts with the sandbox-mode line first.
    const body = text.replace(/^\/\*M!999999\\- enable the sandbox mode \*\/\s*\n/, "");
    return /^-- (MySQL|MariaDB) dump/.test(body)
      ? null
      : `expected "-- MySQL dump" or "-- MariaDB dump", got ${describeBytes(head.subarray(0, 24))}`;
  },
};
