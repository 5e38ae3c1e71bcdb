/** docker/discovery_scan.ts: the environment keys discovery reports, never their values. */
import { envHints } from "../../agent/docker/discovery_scan.ts";
import type { ContainerFacts } from "../../agent/engines/shared/container_exec.ts";
import { assert, assertEquals } from "../support/assert.ts";

function facts(env: Record<string, string>): ContainerFacts {
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

Deno.test('env hints: only the listed keys, always "set", never a value', () => {
  const hints = envHints(facts({
    POSTGRES_PASSWORD: "s3cret-value",
    POSTGRES_USER: "app",
    AWS_SECRET_ACCESS_KEY: "nope",
    PGDATABASE: "",
  }));
  assertEquals(hints, { POSTGRES_PASSWORD: "set", POSTGRES_USER: "set" });
  assert(!JSON.stringify(hints).includes("s3cret"));
});
