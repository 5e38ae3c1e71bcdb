/**
 * Local-mode targets given as URLs (docs/agent.md section 4), turned into the
 * same `Target` a server would send: each engine's own URL (its folder's
 * `*_url.ts`, found through the registry), and `docker://CONTAINER`.
 *
 * @module
 */
import { create } from "@bufbuild/protobuf";
import { ConnectionStrategy, DbType } from "@backupy/gen/backup/v1/common_pb.ts";
import {
  ConnectionConfigSchema,
  type Target,
  TargetSchema,
} from "@backupy/gen/backup/v1/server_to_agent_pb.ts";
import { UsageError } from "../../decrypt/errors.ts";
import {
  type ConnectionExtras,
  dbTypeOf,
  ENGINE_NAMES,
  engineModule,
  FILE_ENGINES,
  isEngineName,
  targetFromEngineUrl,
  urlExtras as engineUrlExtras,
} from "../engines/registry.ts";

/**
 * The Target for `url`: an engine's URL (engines/registry.ts) or
 * `docker://CONTAINER`. Throws a {@linkcode UsageError} that names the
 * problem without repeating a password.
 *
 * @example
 * ```ts
 * import { targetFromUrl } from "./target_url.ts";
 * console.assert(targetFromUrl("sqlite:///var/lib/app/app.db").connection?.database === "/var/lib/app/app.db");
 * ```
 */
export function targetFromUrl(
  url: string,
  env: (name: string) => string | undefined = (name) => Deno.env.get(name),
): Target {
  if (/^docker:/i.test(url)) return dockerTarget(url);
  return targetFromEngineUrl(url, env);
}

/**
 * `docker://[user[:password]@]CONTAINER[/database-or-path][?type=ENGINE]`: a
 * DOCKER_EXEC target. The type stays DB_UNSPECIFIED unless `?type=` gives
 * it; the container's labels and image decide later (docker_target.ts).
 */
function dockerTarget(url: string): Target {
  const usage = "--target docker://CONTAINER[/DATABASE or /PATH/TO/FILE.db][?type=ENGINE]";
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError(`${usage}: not a valid URL`);
  }
  const container = decodeURIComponent(parsed.hostname);
  if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(container)) {
    throw new UsageError(`${usage}: the container name or id is missing or not valid`);
  }
  const typeName = parsed.searchParams.get("type")?.toLowerCase();
  if (typeName !== undefined && !isEngineName(typeName)) {
    throw new UsageError(`?type= must be one of ${ENGINE_NAMES.join(", ")}, got ${typeName}`);
  }
  const path = decodeURIComponent(parsed.pathname);
  const type = typeName ? dbTypeOf(typeName) : DbType.DB_UNSPECIFIED;
  // A path with a slash inside or a database file's name is a file; else a database name.
  const isFile =
    FILE_ENGINES.some((f) =>
      (typeName !== undefined && engineModule(typeName) === f) ||
      f.fileDatabase!.namePattern.test(path)
    ) || /^\/.+\//.test(path);
  return create(TargetSchema, {
    id: "local",
    type,
    displayName: `docker://${container}`,
    connection: create(ConnectionConfigSchema, {
      containerId: container,
      database: isFile ? path : path.replace(/^\//, ""),
      username: parsed.username ? decodeURIComponent(parsed.username) : "",
      passwordSecretRef: parsed.password ? decodeURIComponent(parsed.password) : "",
      strategy: ConnectionStrategy.DOCKER_EXEC,
    }),
  });
}

/**
 * What a URL says that a Target cannot carry: an engine URL's (TLS,
 * ssl-mode, MongoDB hosts; engines/registry.ts), or a docker:// URL's
 * `?authSource=` (the database that holds a MongoDB user).
 */
export function urlExtras(url: string): ConnectionExtras {
  if (!/^docker:/i.test(url)) return engineUrlExtras(url);
  const authSource = new URLSearchParams(/\?(.*)$/.exec(url)?.[1] ?? "").get("authSource");
  return authSource ? { authSource } : {};
}
