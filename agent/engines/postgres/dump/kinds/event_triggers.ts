/**
 * Event triggers: the very last objects of a dump, so that none fires
 * while the restore creates the rest.
 *
 * @module
 */
import { functionName, ident, literal, NOT_EXTENSION_MEMBER } from "../catalog_sql.ts";
import type { DumpContext } from "../dump_context.ts";
import { catalogKey, dumpObject, PRIORITY } from "../dump_object.ts";

const STATE: Record<string, string> = { D: "DISABLE", A: "ENABLE ALWAYS", R: "ENABLE REPLICA" };

/** Every user event trigger. */
export async function collectEventTriggers(context: DumpContext): Promise<void> {
  const rows = await context.q(`SELECT e.oid::text AS oid, e.evtname AS name, e.evtevent AS event,
      e.evttags AS tags, e.evtenabled AS enabled, ${functionName("e.evtfoid")} AS function
    FROM pg_event_trigger e WHERE ${NOT_EXTENSION_MEMBER("pg_event_trigger", "e.oid")}`);
  for (const e of rows) {
    const name = ident(e.name);
    const tags = (e.tags as string[] | null)?.map(literal).join(", ");
    context.add(dumpObject({
      key: catalogKey("pg_event_trigger", e.oid),
      label: `EVENT TRIGGER ${e.name}`,
      priority: PRIORITY.eventTrigger,
      sortName: e.name,
      section: "post-data",
      write: () =>
        `CREATE EVENT TRIGGER ${name} ON ${ident(e.event)}${
          tags ? `\n         WHEN TAG IN (${tags})` : ""
        }\n   EXECUTE FUNCTION ${e.function}();\n${
          STATE[e.enabled] ? `ALTER EVENT TRIGGER ${name} ${STATE[e.enabled]};\n` : ""
        }\n`,
    }));
  }
}
