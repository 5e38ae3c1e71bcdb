/** Container facts as Docker would report them, for tests of what is read from them. */
import type { ContainerFacts } from "../../agent/engines/shared/container_exec.ts";

/** A running PostgreSQL container named db with `env` and nothing else. */
export function containerFacts(env: Record<string, string>): ContainerFacts {
  return {
    id: "c0ffee",
    name: "db",
    image: "postgres:16",
    running: true,
    labels: {},
    env: new Map(Object.entries(env)),
    networks: [],
    ports: [],
    mounts: [],
  };
}
