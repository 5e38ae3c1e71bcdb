/**
 * Whether this agent may replace its own binary (docs/agent.md section 11): only
 * a standalone binary install, outside a container, with
 * `advanced.auto_update_enabled`. Otherwise the server's SelfUpdate is
 * refused with the reason and how to update instead.
 *
 * @module
 */

import { updateSetup } from "./self_update.ts";

/** The facts the decision depends on. */
export interface UpdateEnvironment {
  autoUpdateEnabled: boolean;
  /** A `deno compile` binary (not `deno run`). */
  standalone: boolean;
  inContainer: boolean;
}

/** Whether the process runs inside a container. */
export function detectContainer(): boolean {
  for (const marker of ["/.dockerenv", "/run/.containerenv"]) {
    try {
      Deno.statSync(marker);
      return true;
    } catch {
      // Not this one.
    }
  }
  try {
    return /docker|kubepods|containerd|libpod/.test(Deno.readTextFileSync("/proc/1/cgroup"));
  } catch {
    return false;
  }
}

/** The current environment. */
export function currentUpdateEnvironment(autoUpdateEnabled: boolean): UpdateEnvironment {
  // A stand-in binary for the tests counts (updateSetup reads it only from source).
  const setup = updateSetup();
  return {
    autoUpdateEnabled,
    standalone: setup !== null,
    inContainer: setup?.ignoreContainer ? false : detectContainer(),
  };
}

/**
 * Why a self-update must be refused, or null when it may proceed.
 *
 * @example
 * ```ts
 * import { selfUpdateRefusal } from "./self_update_policy.ts";
 * const why = selfUpdateRefusal({ autoUpdateEnabled: true, standalone: true, inContainer: true });
 * console.assert(why!.includes("container"));
 * ```
 */
export function selfUpdateRefusal(env: UpdateEnvironment): string | null {
  if (env.inContainer) {
    return "running in a container: update by pulling the new image and recreating the container";
  }
  if (!env.standalone) {
    return "not a standalone binary (running from source): update the checkout instead";
  }
  if (!env.autoUpdateEnabled) {
    return "auto-update is disabled (advanced.auto_update_enabled is false): install the new binary by hand";
  }
  return null;
}
