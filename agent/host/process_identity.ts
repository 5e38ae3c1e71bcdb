/**
 * Who a process is, in a form that outlives it - its host name, its pid and
 * when its machine booted - so that a label written by one process can later
 * tell whether that process still runs. The host name keeps agents in other
 * containers that share one Docker engine (each with a host name of its own
 * and pids that mean nothing here) out of the judgement; the boot time tells
 * a pid from before a restart. Deno refuses /proc/PID reads without
 * --allow-all, so liveness is asked of the kernel with signal 0.
 *
 * @module
 */
import process from "node:process";

/** `HOST/PID/BOOT`, BOOT in seconds since the epoch: `build-7/1234/1796000000`. */
export type ProcessIdentity = string;

/** Boot times further apart than this are two boots (clock steps stay well below it). */
const SAME_BOOT_SECONDS = 120;

/** When this machine booted, in seconds since the epoch. */
function bootTime(): number {
  return Math.round(Date.now() / 1000 - Deno.osUptime());
}

/** This process's identity; undefined where the system will not tell its host name or uptime. */
export function ownIdentity(): ProcessIdentity | undefined {
  try {
    return `${Deno.hostname()}/${Deno.pid}/${bootTime()}`;
  } catch {
    return undefined;
  }
}

/** Whether a process with `pid` exists now (whoever owns it). */
function exists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, and belongs to someone else.
    return (error as { code?: string }).code === "EPERM";
  }
}

/**
 * Whether the process `identity` names has ended: true when it ran on this
 * host and is gone (or the machine booted since); false when a process with
 * its pid runs (a reused pid keeps its label alive until that one ends too:
 * erring on the side of leaving things alone); undefined when this process
 * cannot tell (another host name, or not an identity).
 */
export function hasEnded(identity: string): boolean | undefined {
  const match = /^([^/]+)\/(\d+)\/(\d+)$/.exec(identity);
  const own = ownIdentity();
  if (!match || own === undefined || match[1] !== own.split("/")[0]) return undefined;
  if (Math.abs(Number(match[3]) - bootTime()) > SAME_BOOT_SECONDS) return true;
  return !exists(Number(match[2]));
}
