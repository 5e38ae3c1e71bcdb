/**
 * Runs a command and measures its wall time and peak RSS (VmHWM from
 * /proc, sampled until the process exits).
 */

/** What one measured run took. */
export interface Measurement {
  seconds: number;
  peakRssMiB: number;
}

async function readHwmKiB(pid: number): Promise<number> {
  try {
    const status = await Deno.readTextFile(`/proc/${pid}/status`);
    const match = /VmHWM:\s+(\d+) kB/.exec(status);
    return match ? Number(match[1]) : 0;
  } catch {
    return 0;
  }
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
