/**
 * When discovery runs (docs/agent.md section 6): once at start, again 2 s after
 * the last of a burst of container `start`/`die`/`destroy`/`rename` events,
 * and hourly. A result goes out only when it differs from the last one sent.
 * A Docker engine that is missing or refuses the socket is logged once - not
 * every hour - and the agent carries on without discovery until it answers.
 *
 * @module
 */
import type { Logger } from "../log/logger.ts";
import { DockerError, type DockerHost } from "./docker_host.ts";
import { type ContainerSource, type DiscoveredDatabase, scanContainers } from "./discovery_scan.ts";

/** What the loop reads: containers, and the engine's events (a {@linkcode DockerHost}). */
export type DiscoverySource =
  & ContainerSource
  & Pick<DockerHost, "watchEvents" | "socketPath">;

/** The events that can change the set. */
export const DISCOVERY_EVENTS = ["start", "die", "destroy", "rename"];

/** Timings; tests shorten them. */
export interface DiscoveryTiming {
  debounceMs: number;
  rescanMs: number;
  /** Wait before watching events again after the stream broke. */
  eventRetryMs: number;
}

/** The spec's timings. */
export const DEFAULT_DISCOVERY_TIMING: DiscoveryTiming = {
  debounceMs: 2000,
  rescanMs: 3600_000,
  eventRetryMs: 30_000,
};

/** What is compared to decide whether the set changed: what a report carries. */
function reportKey(found: DiscoveredDatabase[]): string {
  return JSON.stringify(found.map((d) => [
    d.containerId,
    d.name,
    d.image,
    d.type,
    d.networks,
    Object.keys(d.envHints).sort(),
    d.ports,
  ]));
}

/** Runs discovery for the service. */
export class DiscoveryLoop {
  readonly #docker: DiscoverySource;
  readonly #report: (found: DiscoveredDatabase[]) => void;
  readonly #log: Logger;
  readonly #timing: DiscoveryTiming;
  readonly #stop = new AbortController();
  #lastKey: string | null = null;
  #debounce: ReturnType<typeof setTimeout> | undefined;
  #hourly: ReturnType<typeof setInterval> | undefined;
  #scanning: Promise<void> = Promise.resolve();
  #unreachable = false;
  #started = false;

  /** `report` gets every changed result. */
  constructor(options: {
    docker: DiscoverySource;
    report: (found: DiscoveredDatabase[]) => void;
    log: Logger;
    timing?: Partial<DiscoveryTiming>;
  }) {
    this.#docker = options.docker;
    this.#report = options.report;
    this.#log = options.log;
    this.#timing = { ...DEFAULT_DISCOVERY_TIMING, ...options.timing };
  }

  /** Scans now, then on events and hourly until {@linkcode DiscoveryLoop.stop}. */
  start(): void {
    if (this.#started) return;
    this.#started = true;
    this.scanSoon(0);
    this.#hourly = setInterval(() => this.scanSoon(0), this.#timing.rescanMs);
    void this.#watchEvents();
  }

  /** Stops timers and the event stream. */
  async stop(): Promise<void> {
    this.#stop.abort();
    clearTimeout(this.#debounce);
    clearInterval(this.#hourly);
    await this.#scanning;
  }

  /** Schedules a scan after `delayMs`, replacing one already scheduled (the debounce). */
  scanSoon(delayMs = this.#timing.debounceMs): void {
    if (this.#stop.signal.aborted) return;
    clearTimeout(this.#debounce);
    this.#debounce = setTimeout(() => {
      // One scan at a time: a scan asked for during another runs after it.
      this.#scanning = this.#scanning.then(() => this.#scan());
    }, delayMs);
  }

  async #scan(): Promise<void> {
    if (this.#stop.signal.aborted) return;
    let found: DiscoveredDatabase[];
    try {
      found = await scanContainers(this.#docker);
    } catch (error) {
      if (!this.#unreachable) {
        this.#unreachable = true;
        this.#log.warn("Docker is not reachable: discovery is off until it answers", {
          socket: this.#docker.socketPath,
          error: error instanceof DockerError ? error.message : String(error),
        });
      }
      return;
    }
    if (this.#unreachable) {
      this.#unreachable = false;
      this.#log.info("Docker is reachable again: discovery is back on");
    }
    const key = reportKey(found);
    if (key === this.#lastKey) {
      this.#log.debug("discovery: nothing changed", { containers: found.length });
      return;
    }
    this.#lastKey = key;
    this.#log.info("discovery: the set of database containers changed", {
      containers: found.length,
    });
    this.#report(found);
  }

  async #watchEvents(): Promise<void> {
    const signal = this.#stop.signal;
    while (!signal.aborted) {
      try {
        await this.#docker.watchEvents(DISCOVERY_EVENTS, () => this.scanSoon(), signal);
      } catch {
        // Unreachable: the scan logs that once. Try again later.
      }
      if (signal.aborted) return;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.#timing.eventRetryMs);
        signal.addEventListener("abort", () => {
          clearTimeout(timer);
          resolve();
        }, { once: true });
      });
      // Events may have been missed while the stream was down.
      this.scanSoon();
    }
  }
}
