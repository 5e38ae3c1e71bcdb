/** docker/discovery_scan.ts: the environment keys discovery reports, never their values. */
import { envHints } from "../../agent/docker/discovery_scan.ts";
import { assert, assertEquals } from "../support/assert.ts";
import { containerFacts as facts } from "../support/container_facts.ts";

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
