/**
 * The release version of both programs. `deno task compile` bakes the commit
 * in through the BACKUPY_BUILD_COMMIT environment of the build; from source
 * it is "dev".
 *
 * @module
 */

/** Semantic version of this release. */
export const VERSION = "0.1.0";
