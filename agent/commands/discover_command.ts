/**
 * `backupy-agent discover`: one discovery pass, printed as a table (or as
 * JSON with `--json`) - the same containers, types, ports and env hint keys
 * the service reports, plus the SQLite files found in their mounts.
 *
 * @module
 */
import { DockerHost } from "../docker/docker_host.ts";
import { type DiscoveredDatabase, scanContainers } from "../docker/discovery_scan.ts";

/** Runs discovery against the engine at `socket`; rejects when it does not answer. */
export async function discover(socket: string): Promise<DiscoveredDatabase[]> {
  const docker = new DockerHost(socket);
  await docker.version(); // a clear error for a missing socket before anything else
  return await scanContainers(docker);
}

function ports(d: DiscoveredDatabase): string {
  return d.ports.map((p) =>
    p.hostPort
      ? `${p.hostPort}->${p.containerPort}/${p.protocol}`
      : `${p.containerPort}/${p.protocol}`
  ).join(",") || "-";
}

/** The human table: one line per container, columns padded. */
export function discoveryTable(found: DiscoveredDatabase[]): string {
  if (found.length === 0) return "no database containers found";
  const rows = [
    ["NAME", "TYPE", "IMAGE", "PORTS", "ENV HINTS", "SQLITE FILES"],
    ...found.map((d) => [
      d.name,
      d.type,
      d.image,
      ports(d),
      Object.keys(d.envHints).sort().join(",") || "-",
      d.sqliteFiles.join(",") || "-",
    ]),
  ];
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
  return rows.map((row) => row.map((cell, i) => cell.padEnd(widths[i])).join("  ").trimEnd())
    .join("\n");
}
