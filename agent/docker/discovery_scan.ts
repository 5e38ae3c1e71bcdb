/**
 * One Docker discovery pass (agent.md section 6): every running container
 * whose labels or image say it is a database, or whose mounts hold SQLite
 * files, with its networks, ports and which credential variables it sets -
 * reported as "set", never with their values.
 *
 * @module
 */
import type { ContainerFacts } from "../engines/shared/container_exec.ts";
import type { EngineName } from "../engines/shared/engine.ts";
import { ENV_HINT_KEYS } from "../engines/registry.ts";
import { containerType } from "./container_type.ts";
import { sqliteFilesInMounts } from "../engines/sqlite/sqlite_file_finder.ts";

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
    const sqliteFiles = await sqliteFilesInMounts(facts.mounts);
    const engine = type.kind === "engine" ? type.engine : sqliteFiles.length ? "sqlite" : null;
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
