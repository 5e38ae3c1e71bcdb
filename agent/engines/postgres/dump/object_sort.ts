/**
 * The order a PostgreSQL dump writes its objects in: every object after
 * what it needs, pre-data before data before post-data, and otherwise in
 * pg_dump's order of kinds, then by schema and name, so the same database
 * always gives the same dump (docs/engines.md section 4).
 *
 * Sections are held by two boundary objects, as pg_dump does: the
 * pre-data boundary needs every pre-data object, data and the post-data
 * boundary need it, and post-data objects need the post-data boundary. A
 * dependency loop that the catalog allows (a view that needs a primary key
 * for its GROUP BY, which is post-data) is broken by moving the object to
 * post-data where it may move; any other loop fails the dump naming its
 * members, rather than writing a dump that cannot be restored.
 *
 * @module
 */
import { type DumpObject, dumpObject, PRIORITY } from "./dump_object.ts";

/** A loop the sort cannot break: the dump would not restore. */
export class DependencyLoopError extends Error {
  constructor(readonly members: string[]) {
    super(
      `the database has a dependency loop the dump cannot order: ${members.join(" -> ")}; ` +
        "back it up with the DOCKER_EXEC strategy (pg_dump) and report the loop",
    );
  }
}

const PRE_BOUNDARY = "boundary:pre-data";
const POST_BOUNDARY = "boundary:post-data";

/** `objects` in the order to write them; needs on objects not in the list are dropped. */
export function sortObjects(objects: readonly DumpObject[]): DumpObject[] {
  const pre = dumpObject({
    key: PRE_BOUNDARY,
    label: "the end of the pre-data section",
    priority: PRIORITY.preDataBoundary,
    sortName: "",
  });
  const post = dumpObject({
    key: POST_BOUNDARY,
    label: "the start of the post-data section",
    priority: PRIORITY.postDataBoundary,
    sortName: "",
    needs: [PRE_BOUNDARY],
  });
  const all = [...objects, pre, post];
  const byKey = new Map(all.map((o) => [o.key, o]));
  for (const object of objects) {
    for (const need of object.needs) {
      if (!byKey.has(need) || need === object.key) object.needs.delete(need);
    }
    if (object.section === "pre-data") pre.needs.add(object.key);
    else if (object.section === "data") {
      object.needs.add(PRE_BOUNDARY);
      post.needs.add(object.key);
    } else object.needs.add(POST_BOUNDARY);
  }
  // The order without dependencies, which the topological sort keeps where it can.
  all.sort((a, b) =>
    a.priority - b.priority || compare(a.sortName, b.sortName) || compare(a.key, b.key)
  );
  for (;;) {
    const { ordered, stuck } = topologicalOrder(all, byKey);
    if (!stuck) return ordered.filter((o) => o !== pre && o !== post);
    breakLoop(findLoop(stuck, byKey), byKey);
  }
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Kahn's algorithm taking, among the objects whose needs are met, the one
 * first in `all`'s order. `stuck` is an object left over when a loop stops it.
 */
function topologicalOrder(
  all: readonly DumpObject[],
  byKey: Map<string, DumpObject>,
): { ordered: DumpObject[]; stuck?: DumpObject } {
  const index = new Map(all.map((o, i) => [o.key, i]));
  const waiting = new Map<string, number>();
  const neededBy = new Map<string, string[]>();
  for (const object of all) {
    waiting.set(object.key, object.needs.size);
    for (const need of object.needs) {
      const list = neededBy.get(need);
      if (list) list.push(object.key);
      else neededBy.set(need, [object.key]);
    }
  }
  const ready = new MinHeap();
  for (const object of all) if (object.needs.size === 0) ready.push(index.get(object.key)!);
  const ordered: DumpObject[] = [];
  while (ready.size > 0) {
    const object = all[ready.pop()];
    ordered.push(object);
    for (const key of neededBy.get(object.key) ?? []) {
      const left = waiting.get(key)! - 1;
      waiting.set(key, left);
      if (left === 0) ready.push(index.get(key)!);
    }
  }
  if (ordered.length === all.length) return { ordered };
  const stuck = all.find((o) => waiting.get(o.key)! > 0)!;
  return { ordered, stuck: byKey.get(stuck.key) };
}

/** A loop reachable from `start` through unmet needs, in need order. */
function findLoop(start: DumpObject, byKey: Map<string, DumpObject>): DumpObject[] {
  const path: DumpObject[] = [];
  const onPath = new Map<string, number>();
  const done = new Set<string>();
  const visit = (object: DumpObject): DumpObject[] | undefined => {
    onPath.set(object.key, path.length);
    path.push(object);
    for (const need of object.needs) {
      const at = onPath.get(need);
      if (at !== undefined) return path.slice(at);
      if (done.has(need)) continue;
      const found = visit(byKey.get(need)!);
      if (found) return found;
    }
    path.pop();
    onPath.delete(object.key);
    done.add(object.key);
    return undefined;
  };
  // A stuck object waits on a loop or on something downstream of one: some walk finds it.
  const loop = visit(start);
  if (!loop) throw new Error(`internal: no dependency loop found from ${start.label}`);
  return loop;
}

/**
 * Breaks `loop` (each member needs the next) or throws. A loop through the
 * post-data boundary means a pre-data object needs a post-data one; the
 * pre-data member right after the pre-data boundary moves to post-data if
 * its kind may.
 */
function breakLoop(loop: DumpObject[], byKey: Map<string, DumpObject>): void {
  const at = loop.findIndex((o) => o.key === PRE_BOUNDARY);
  if (at >= 0 && loop.some((o) => o.key === POST_BOUNDARY)) {
    const next = loop[(at + 1) % loop.length];
    if (next.loopRepair === "postpone" && next.section === "pre-data") {
      next.section = "post-data";
      byKey.get(PRE_BOUNDARY)!.needs.delete(next.key);
      next.needs.add(POST_BOUNDARY);
      return;
    }
  }
  throw new DependencyLoopError(
    loop.filter((o) => !o.key.startsWith("boundary:")).map((o) => o.label),
  );
}

/** A binary heap of numbers, smallest first. */
class MinHeap {
  readonly #items: number[] = [];
  get size(): number {
    return this.#items.length;
  }
  push(value: number): void {
    const items = this.#items;
    items.push(value);
    for (let i = items.length - 1; i > 0;) {
      const parent = (i - 1) >> 1;
      if (items[parent] <= items[i]) break;
      [items[parent], items[i]] = [items[i], items[parent]];
      i = parent;
    }
  }
  pop(): number {
    const items = this.#items;
    const top = items[0];
    const last = items.pop()!;
    if (items.length > 0) {
      items[0] = last;
      for (let i = 0;;) {
        const left = 2 * i + 1, right = left + 1;
        let smallest = i;
        if (left < items.length && items[left] < items[smallest]) smallest = left;
        if (right < items.length && items[right] < items[smallest]) smallest = right;
        if (smallest === i) break;
        [items[smallest], items[i]] = [items[i], items[smallest]];
        i = smallest;
      }
    }
    return top;
  }
}
