/**
 * Runs a command and measures its wall time and peak RSS (VmHWM from
 * /proc, sampled until the process exits).
 */

/**
 * Runs `command args` to completion without measuring it (set-up work),
 * `stdin` written to it when given; throws with its stderr if it fails.
 */
export async function runCommand(command: string, args: string[], stdin?: string): Promise<void> {
  const child = new Deno.Command(command, {
    args,
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  if (stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(stdin));
    await writer.close();
  }
  const output = await child.output();
  if (!output.success) {
    throw new Error(`${command} failed: ${new TextDecoder().decode(output.stderr)}`);
  }
}

/** What one measured run took. */
export interface Measurement {
  seconds: number;
  peakRssMiB: number;
}

/** A `Vm...` line of /proc/PID/status, in KiB (0 when absent). */
function statusKiB(status: string, field: "VmHWM" | "VmRSS"): number {
  return Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0);
}

async function readHwmKiB(pid: number): Promise<number> {
  try {
    return statusKiB(await Deno.readTextFile(`/proc/${pid}/status`), "VmHWM");
  } catch {
    return 0;
  }
}

/** A running process's resident set, now and at its peak, and its CPU time so far, from /proc. */
export function readProc(pid: number): { hwmKiB: number; rssKiB: number; cpuTicks: number } {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`).split(") ")[1].split(" ");
  return {
    hwmKiB: statusKiB(status, "VmHWM"),
    rssKiB: statusKiB(status, "VmRSS"),
    cpuTicks: Number(stat[11]) + Number(stat[12]), // utime + stime, in clock ticks
  };
}

/** One printed line: `label` padded to `width`, the time, and the peak RSS. */
export function measurementLine(label: string, m: Measurement, width: number): string {
  return `${label.padEnd(width)} ${m.seconds.toFixed(2).padStart(6)} s  peak RSS ${
    m.peakRssMiB.toFixed(0)
  } MiB`;
}

/** Runs `command args` to completion; throws if it fails. */
export async function measure(command: string, args: string[]): Promise<Measurement> {
  const started = performance.now();
  const child = new Deno.Command(command, { args, stdout: "null", stderr: "piped" }).spawn();
  let peak = 0;
  let running = true;
  const sampler = (async () => {
    while (running) {
      peak = Math.max(peak, await readHwmKiB(child.pid));
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  const output = await child.output();
  running = false;
  await sampler;
  const seconds = (performance.now() - started) / 1000;
  if (!output.success) {
    throw new Error(`${command} failed: ${new TextDecoder().decode(output.stderr)}`);
  }
  return { seconds, peakRssMiB: peak / 1024 };
}

/** Median of the measurements by time (runs are noisy on a shared machine). */
export function median(runs: Measurement[]): Measurement {
  const sorted = [...runs].sort((a, b) => a.seconds - b.seconds);
  return sorted[Math.floor(sorted.length / 2)];
}
