/**
 * The log levels, in order of severity: what BACKUPY_LOG_LEVEL accepts and
 * what the logger filters by.
 *
 * @module
 */

/** Log levels in order of severity. */
export const LOG_LEVELS = ["trace", "debug", "info", "warn", "error"] as const;
/** One of {@linkcode LOG_LEVELS}. */
export type LogLevelName = typeof LOG_LEVELS[number];
