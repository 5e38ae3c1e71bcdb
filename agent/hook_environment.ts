/**
 * The environment hooks and child processes inherit: the agent's own,
 * without its secrets (the agent key above all).
 *
 * @module
 */

const SECRET_NAMES = /^(BACKUPY?_AGENT_KEY(_FILE)?|PGPASSWORD|MYSQL_PWD|REDISCLI_AUTH)$/;

/** The current environment minus secrets. */
export function hookEnvironment(
  env: Record<string, string> = Deno.env.toObject(),
): Record<string, string> {
  const safe: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (!SECRET_NAMES.test(name)) safe[name] = value;
  }
  return safe;
}
