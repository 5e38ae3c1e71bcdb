/**
 * Keys the service writes into the state store's meta table for other
 * processes to read: the `health-check` command and a self-update's watcher.
 *
 * @module
 */

/** Meta keys of the running service's health. */
export const HEALTH_META = {
  listen: "health_listen",
  lastHeartbeatMs: "last_heartbeat_ms",
  heartbeatSec: "heartbeat_interval_sec",
} as const;
