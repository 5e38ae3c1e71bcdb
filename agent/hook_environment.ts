/**
 * The environment hooks and child processes inherit: the agent's own,
 * without its secrets (the agent key above all).
 *
 * @module
 */
import { SECRET_ENV } from "./engines/registry.ts";

/** The agent key's variables, and each engine's secret ones (engines/registry.ts). */
function isSecretName(name: string): boolean {
  return /^BACKUPY?_AGENT_KEY(_FILE)?$/.test(name) || SECRET_ENV.includes(name);
}

/** The current environment minus secrets. */
export function hookEnvironment(
  env: Record<string, string> = Deno.env.toObject(),
): Record<string, string> {
  const safe: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (!isSecretName(name)) safe[name] = value;
  }
  return safe;
}
