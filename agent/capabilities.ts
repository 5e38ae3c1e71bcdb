/**
 * What this build can do, as Register.capabilities announces it
 * (docs/wire-protocol.md section 6: the Go agent's names where they exist).
 * Only what actually works is listed.
 *
 * @module
 */
import { ENGINE_CAPABILITIES } from "./engines/registry.ts";

/** Capabilities of this build: each engine's (engines/registry.ts), then the agent's own. */
export const CAPABILITIES: readonly string[] = [
  ...ENGINE_CAPABILITIES,
  "docker_discovery",
  "docker_exec",
  "zstd",
  "gzip",
  "health_checks",
];
