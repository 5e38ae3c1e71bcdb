/** update/self_update_policy.ts: when a self-update is refused, and why. */
import { assert, assertEquals } from "../support/assert.ts";
import { selfUpdateRefusal } from "../../agent/update/self_update_policy.ts";

Deno.test("self-update policy names why it refuses", () => {
  assert(
    selfUpdateRefusal({ autoUpdateEnabled: true, standalone: false, inContainer: false })!.includes(
      "standalone",
    ),
  );
  assert(
    selfUpdateRefusal({ autoUpdateEnabled: false, standalone: true, inContainer: false })!.includes(
      "disabled",
    ),
  );
  assertEquals(
    selfUpdateRefusal({ autoUpdateEnabled: true, standalone: true, inContainer: false }),
    null,
  );
});
