/**
 * One Docker discovery pass (docs/agent.md section 6): every running container
 * whose labels or image say it is a database, or whose mounts hold SQLite
 * files, with its networks, ports and which credential variables it sets -
 * reported as "set", never with their values.
 *
 * @module
 */
import type { ContainerFacts } from "../engines/shared/container_exec.ts";
import type { EngineName } from "../engines/registry.ts";
import { ENV_HINT_KEYS, FILE_ENGINES } from "../engines/registry.ts";
import { containerType } from "./container_type.ts";

/** A database container found by discovery. */
export interface DiscoveredDatabase {
  containerId: string;
  name: string;
  image: string;
  type: EngineName;
  networks: string[];
  /** Key -> "set". */
  envHints: Record<string, "set">;
  ports: { containerPort: number; hostPort: number; protocol: string }[];
  /** SQLite files found in its mounts, as paths inside the container. */
  sqliteFiles: string[];
}

/** What a discovery pass reads. */
export interface ContainerSource {
  runningContainerIds(): Promise<string[]>;
  inspect(id: string): Promise<ContainerFacts | null>;
}

/** The hint keys `facts` sets (to any non-empty value); the only keys discovery reports. */
export function envHints(facts: ContainerFacts): Record<string, "set"> {
  const hints: Record<string, "set"> = {};
  for (const key of ENV_HINT_KEYS) if (facts.env.get(key)) hints[key] = "set";
  return hints;
}

/** Discovers the database containers running now, sorted by name. */
export async function scanContainers(source: ContainerSource): Promise<DiscoveredDatabase[]> {
  const found: DiscoveredDatabase[] = [];
  for (const id of await source.runningContainerIds()) {
    const facts = await source.inspect(id);
    if (!facts?.running) continue; // gone or stopped since the listing
    const type = containerType(facts.image, facts.labels);
    if (type.kind === "hidden") continue;
    // Database files in its mounts: an application container with a SQLite file is a target.
    let sqliteFiles: string[] = [];
    let fileEngine: EngineName | null = null;
    for (const family of FILE_ENGINES) {
      const files = await family.fileDatabase!.findInMounts(facts.mounts);
      if (files.length && !fileEngine) [sqliteFiles, fileEngine] = [files, family.names[0].name];
    }
    const engine = type.kind === "engine" ? type.engine : fileEngine;
    if (!engine) continue;
    found.push({
      containerId: facts.id,
      name: facts.name,
      image: facts.image,
      type: engine,
      networks: facts.networks,
      envHints: envHints(facts),
      ports: facts.ports,
      sqliteFiles,
    });
  }
  return found.sort((a, b) =>
    a.name.localeCompare(b.name) || a.containerId.localeCompare(b.containerId)
  );
}
