/**
 * Local mode's `docker://CONTAINER` targets (docs/agent.md section 4): find the
 * container, insist it runs, and tell its engine from `?type=`, its labels
 * or its image - with a clear error for each way that can fail.
 *
 * @module
 */
import { clone } from "@bufbuild/protobuf";
import { DbType } from "@backupy/gen/backup/v1/common_pb.ts";
import { type Target, TargetSchema } from "@backupy/gen/backup/v1/server_to_agent_pb.ts";
import { BackupyError } from "../../decrypt/errors.ts";
import type { ContainerFacts, ContainerRuntime } from "../engines/shared/container_exec.ts";
import type { EngineName } from "../engines/registry.ts";
import { containerType } from "../docker/container_type.ts";
import {
  dbTypeOf,
  type EngineModule,
  engineModule,
  engineName,
  FILE_ENGINES,
} from "../engines/registry.ts";

/** `target` with its container's id and engine filled in. */
export async function resolveDockerTarget(
  target: Target,
  containers: ContainerRuntime,
): Promise<Target> {
  const connection = target.connection!;
  const name = connection.containerId;
  const facts = await containers.inspect(name);
  if (!facts) throw new BackupyError(`there is no container named ${name}`);
  if (!facts.running) {
    throw new BackupyError(`container ${facts.name} is not running: start it, then back it up`);
  }
  const resolved = clone(TargetSchema, target);
  resolved.connection!.containerId = facts.id;
  if (resolved.type === DbType.DB_UNSPECIFIED) {
    resolved.type = dbTypeOf(engineOf(facts, connection));
  }
  const family = engineModule(engineName(resolved.type)!);
  if (family.fileDatabase && resolved.connection!.database === "") {
    resolved.connection!.database = await onlyDatabaseFile(facts, family);
  }
  return resolved;
}

/**
 * The path inside the container of the one database file of `family` its
 * mounts hold, found as discovery finds it; none or several is an error
 * that lists them.
 */
async function onlyDatabaseFile(facts: ContainerFacts, family: EngineModule): Promise<string> {
  const found = await family.fileDatabase!.findInMounts(facts.mounts);
  if (found.length === 1) return found[0];
  const name = facts.name;
  if (found.length === 0) {
    throw new BackupyError(
      `container ${name} has no ${family.title} database in its volumes or bind mounts that ` +
        `this agent can read: name the file, as docker://${name}/PATH/TO/FILE`,
    );
  }
  throw new BackupyError(
    `container ${name} has ${found.length} ${family.title} databases: ${found.join(", ")}; ` +
      `name one, as docker://${name}${found[0]}`,
  );
}

/** The engine a container without `?type=` runs, from its labels, image or the path named. */
function engineOf(facts: ContainerFacts, connection: { database: string }): EngineName {
  const type = containerType(facts.image, facts.labels);
  let engine: EngineName | undefined = type.kind === "engine" ? type.engine : undefined;
  if (type.kind === "hidden") {
    // Hidden from discovery, but named here on purpose: the image still tells.
    const unlabelled = containerType(facts.image, {});
    if (unlabelled.kind === "engine") engine = unlabelled.engine;
  }
  // A file named like a database file: the family of files with such names.
  engine ??= FILE_ENGINES.find((f) => f.fileDatabase!.namePattern.test(connection.database))
    ?.names[0].name;
  if (!engine) {
    throw new BackupyError(
      `cannot tell which database container ${facts.name} runs (image ${facts.image}): ` +
        "add ?type=ENGINE to the URL or the label backupy.type=ENGINE to the container",
    );
  }
  return engine;
}
