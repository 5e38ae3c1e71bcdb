/**
 * A discovery result as the wire message (docs/wire-protocol.md section 1):
 * `DiscoveryReport` of `DiscoveredContainer`s, the type as a lowercase word.
 *
 * @module
 */
import { create } from "@bufbuild/protobuf";
import {
  DiscoveredContainerSchema,
  type DiscoveryReport,
  DiscoveryReportSchema,
} from "@backupy/gen/backup/v1/agent_to_server_pb.ts";
import { PortBindingSchema } from "@backupy/gen/backup/v1/common_pb.ts";
import type { DiscoveredDatabase } from "./discovery_scan.ts";

/** The report for `found`. */
export function discoveryReport(found: DiscoveredDatabase[]): DiscoveryReport {
  return create(DiscoveryReportSchema, {
    containers: found.map((d) =>
      create(DiscoveredContainerSchema, {
        containerId: d.containerId,
        name: d.name,
        image: d.image,
        detectedDbType: d.type,
        networks: d.networks,
        envHints: { ...d.envHints },
        ports: d.ports.map((p) =>
          create(PortBindingSchema, {
            containerPort: p.containerPort,
            hostPort: p.hostPort,
            protocol: p.protocol || "tcp",
          })
        ),
      })
    ),
  });
}
