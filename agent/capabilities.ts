/**
 * What this build can do, as Register.capabilities announces it
 * (wire-protocol.md section 6: the Go agent's names where they exist).
 * Only what actually works is listed.
 *
 * @module
 */

/** Capabilities of this build. */
export const CAPABILITIES: readonly string[] = [
  "pg_dump",
  "mysqldump",
  "docker_discovery",
  "docker_exec",
  "mongodump",
  "sqlite",
  "redis_rdb",
  "zstd",
  "gzip",
  "health_checks",
];
