/**
 * `backupy-agent version`.
 *
 * @module
 */
import { VERSION } from "../../decrypt/version.ts";

/** The version line: version, commit, Deno version, target. */
export function versionLine(): string {
  const commit = Deno.env.get("BACKUPY_BUILD_COMMIT") ?? "dev";
  return `backupy-agent ${VERSION} (commit ${commit}, deno ${Deno.version.deno}, ${Deno.build.target})`;
}
