/**
 * Real host readings for heartbeats: CPU use since the last reading (from
 * /proc/stat), memory, and the disk holding the state directory.
 *
 * @module
 */
import { statfsSync } from "node:fs";

/** A heartbeat's host figures (AgentMetrics without queue_depth). */
export interface HostReading {
  cpuPercent: number;
  memUsedBytes: bigint;
  memTotalBytes: bigint;
  diskUsedBytes: bigint;
  diskTotalBytes: bigint;
}

function readCpuTimes(): { busy: number; total: number } | undefined {
  try {
    const line = Deno.readTextFileSync("/proc/stat").split("\n")[0];
    const fields = line.trim().split(/\s+/).slice(1).map(Number);
    const idle = (fields[3] ?? 0) + (fields[4] ?? 0); // idle + iowait
    const total = fields.reduce((a, b) => a + b, 0);
    return { busy: total - idle, total };
  } catch {
    return undefined;
  }
}

/** Reads the host; CPU is the share of busy time since the previous call. */
export class HostMetrics {
  readonly #dir: string;
  #last = readCpuTimes();

  /** Disk figures are for the filesystem of `stateDir`. */
  constructor(stateDir: string) {
    this.#dir = stateDir;
  }

  /** One reading. */
  read(): HostReading {
    const now = readCpuTimes();
    let cpuPercent = 0;
    if (now && this.#last && now.total > this.#last.total) {
      cpuPercent = (100 * (now.busy - this.#last.busy)) / (now.total - this.#last.total);
    }
    this.#last = now;
    const memory = Deno.systemMemoryInfo();
    let diskTotal = 0n;
    let diskUsed = 0n;
    try {
      const fs = statfsSync(this.#dir, { bigint: true });
      diskTotal = fs.blocks * fs.bsize;
      diskUsed = (fs.blocks - fs.bfree) * fs.bsize;
    } catch {
      // Unknown: reported as 0.
    }
    return {
      cpuPercent: Math.round(cpuPercent * 10) / 10,
      memTotalBytes: BigInt(memory.total),
      memUsedBytes: BigInt(memory.total - memory.available),
      diskTotalBytes: diskTotal,
      diskUsedBytes: diskUsed,
    };
  }
}
