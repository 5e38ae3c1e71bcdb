/**
 * The usage text is made from the registry: every engine's URL schemes are
 * in it, and the engines it says restore natively are those that do.
 */
import { usageText } from "../../agent/commands/usage_text.ts";
import { ENGINES } from "../../agent/engines/registry.ts";
import { assert, assertEquals } from "../support/assert.ts";

Deno.test("the usage text names every registered URL scheme and no line is wider than 100 columns", () => {
  const text = usageText("0.0.0-test");
  for (const engine of ENGINES) {
    for (const scheme of Object.keys(engine.schemes)) {
      assert(text.includes(`${scheme}//`), `${scheme}// is missing from the usage text`);
    }
  }
  const wide = text.split("\n").filter((line) => line.length > 100);
  assertEquals(wide, []);
});

Deno.test("the usage text lists as restorable exactly the engines without a manual restore", () => {
  const line = usageText("0.0.0-test").split("\n").find((l) =>
    l.trim().startsWith("(") && l.includes("):")
  );
  assert(line, "the restore command's list of engines");
  const listed = line.trim().slice(1, -2).split(", ");
  assertEquals(listed, ENGINES.filter((e) => !e.manualRestore).map((e) => e.title));
});
