/**
 * Local-mode targets given as URLs (agent.md section 4), turned into the
 * same `Target` a server would send: `sqlite:///path/to/file.db` today; the
 * other engines' schemes as they land.
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
import type { ConnectionExtras } from "../engines/engine_factory.ts";

/** Schemes known to the spec and the engine each means. */
const SCHEMES: Record<string, DbType> = {
  "sqlite:": DbType.SQLITE,
  "postgres:": DbType.POSTGRESQL,
  "postgresql:": DbType.POSTGRESQL,
  "mysql:": DbType.MYSQL,
  "mariadb:": DbType.MARIADB,
  "mongodb:": DbType.MONGODB,
  "mongodb+srv:": DbType.MONGODB,
  "redis:": DbType.REDIS,
  "rediss:": DbType.REDIS,
  "docker:": DbType.DB_UNSPECIFIED,
};

/**
 * The Target for `url`. Throws a {@linkcode UsageError} that names the
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
  const scheme = /^([a-z][a-z0-9+.-]*:)/i.exec(url)?.[1]?.toLowerCase();
  if (!scheme || !(scheme in SCHEMES)) {
    throw new UsageError(
      `--target must be a URL such as sqlite:///path/to/file.db (got scheme ${scheme ?? "none"})`,
    );
  }
  if (scheme === "sqlite:") {
    const path = decodeURIComponent(url.slice("sqlite://".length));
    if (!url.startsWith("sqlite:///") || path.length < 2) {
      throw new UsageError(
        "--target sqlite:///ABSOLUTE/PATH: three slashes, then the database file's absolute path",
      );
    }
    return create(TargetSchema, {
      id: "local",
      type: DbType.SQLITE,
      displayName: path,
      connection: create(ConnectionConfigSchema, {
        database: path,
        strategy: ConnectionStrategy.TCP,
      }),
    });
  }
  if (scheme === "postgres:" || scheme === "postgresql:") {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new UsageError(
        `--target ${scheme}//user[:password]@host[:port]/database: not a valid URL`,
      );
    }
    // libpq's URI form: ?host=/run/postgresql for a UNIX socket directory.
    const socket = parsed.searchParams.get("host");
    const password = parsed.password
      ? decodeURIComponent(parsed.password)
      : env("PGPASSWORD") ?? "";
    return create(TargetSchema, {
      id: "local",
      type: DbType.POSTGRESQL,
      displayName: socket ?? `${parsed.hostname}:${parsed.port || 5432}`,
      connection: create(ConnectionConfigSchema, {
        host: socket ?? parsed.hostname.replace(/^\[|\]$/g, ""),
        port: Number(parsed.port || parsed.searchParams.get("port") || 5432),
        database: decodeURIComponent(parsed.pathname.replace(/^\//, "")),
        username: parsed.username
          ? decodeURIComponent(parsed.username)
          : parsed.searchParams.get("user") ?? env("PGUSER") ?? "postgres",
        passwordSecretRef: password,
        strategy: socket ? ConnectionStrategy.UNIX_SOCKET : ConnectionStrategy.TCP,
      }),
    });
  }
  if (scheme === "mysql:" || scheme === "mariadb:") {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new UsageError(
        `--target ${scheme}//user[:password]@host[:port]/[database]: not a valid URL`,
      );
    }
    const socket = parsed.searchParams.get("socket");
    const password = parsed.password ? decodeURIComponent(parsed.password) : env("MYSQL_PWD") ?? "";
    return create(TargetSchema, {
      id: "local",
      type: scheme === "mariadb:" ? DbType.MARIADB : DbType.MYSQL,
      displayName: socket ?? `${parsed.hostname}:${parsed.port || 3306}`,
      connection: create(ConnectionConfigSchema, {
        host: socket ?? parsed.hostname.replace(/^\[|\]$/g, ""),
        port: Number(parsed.port || 3306),
        database: decodeURIComponent(parsed.pathname.replace(/^\//, "")),
        username: parsed.username ? decodeURIComponent(parsed.username) : "root",
        passwordSecretRef: password,
        strategy: socket ? ConnectionStrategy.UNIX_SOCKET : ConnectionStrategy.TCP,
      }),
    });
  }
  if (scheme === "redis:" || scheme === "rediss:") {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new UsageError("--target redis://[user:password@]host[:port]: not a valid URL");
    }
    const password = parsed.password
      ? decodeURIComponent(parsed.password)
      : env("REDISCLI_AUTH") ?? "";
    return create(TargetSchema, {
      id: "local",
      type: DbType.REDIS,
      displayName: `${parsed.hostname}:${parsed.port || 6379}`,
      connection: create(ConnectionConfigSchema, {
        host: parsed.hostname.replace(/^\[|\]$/g, ""),
        port: Number(parsed.port || 6379),
        username: parsed.username ? decodeURIComponent(parsed.username) : "",
        passwordSecretRef: password,
        strategy: ConnectionStrategy.TCP,
      }),
    });
  }
  if (scheme === "mongodb:" || scheme === "mongodb+srv:") {
    const parsed = parseMongoUrl(url);
    return create(TargetSchema, {
      id: "local",
      type: DbType.MONGODB,
      displayName: parsed.hosts.join(","),
      connection: create(ConnectionConfigSchema, {
        host: parsed.hosts[0].replace(/:\d+$/, ""),
        port: Number(/:(\d+)$/.exec(parsed.hosts[0])?.[1] ?? 27017),
        database: parsed.database,
        username: parsed.username,
        passwordSecretRef: parsed.password,
        strategy: ConnectionStrategy.TCP,
      }),
    });
  }
  if (scheme === "docker:") return dockerTarget(url);
  throw new UsageError(
    `${scheme.replace(":", "")} targets are not supported by this agent build yet`,
  );
}

/** A mongodb:// or mongodb+srv:// URL's parts (several hosts, which WHATWG URLs cannot hold). */
export interface MongoUrl {
  srv: boolean;
  hosts: string[];
  username: string;
  password: string;
  database: string;
  options: Record<string, string>;
}

/** Parses a MongoDB connection string; the error never repeats the password. */
export function parseMongoUrl(url: string): MongoUrl {
  const usage = "--target mongodb://[user[:password]@]host[:port][,host...]/[database][?options]";
  const match = /^(mongodb(?:\+srv)?):\/\/(?:([^@/]*)@)?([^/?@]+)(?:\/([^?]*))?(?:\?(.*))?$/i
    .exec(url);
  if (!match) throw new UsageError(`${usage}: not a valid MongoDB URL`);
  const [, scheme, userinfo, hostList, path, query] = match;
  const colon = userinfo?.indexOf(":") ?? -1;
  const decode = (text: string) => {
    try {
      return decodeURIComponent(text);
    } catch {
      throw new UsageError(`${usage}: bad percent-encoding in the user or password`);
    }
  };
  const hosts = hostList.split(",").map((h) => h.trim()).filter(Boolean);
  if (hosts.length === 0) throw new UsageError(`${usage}: no host`);
  const srv = scheme.toLowerCase() === "mongodb+srv";
  if (srv && (hosts.length > 1 || hosts[0].includes(":"))) {
    throw new UsageError("mongodb+srv:// takes exactly one host name and no port");
  }
  return {
    srv,
    hosts: srv ? hosts : hosts.map((h) => (/:\d+$/.test(h) || h.endsWith("]") ? h : `${h}:27017`)),
    username: userinfo ? decode(colon >= 0 ? userinfo.slice(0, colon) : userinfo) : "",
    password: userinfo && colon >= 0 ? decode(userinfo.slice(colon + 1)) : "",
    database: path ? decode(path) : "",
    options: Object.fromEntries(new URLSearchParams(query ?? "")),
  };
}

/** Engine names `?type=` accepts, as DbType. */
const DOCKER_TYPES: Record<string, DbType> = {
  postgresql: DbType.POSTGRESQL,
  mysql: DbType.MYSQL,
  mariadb: DbType.MARIADB,
  mongodb: DbType.MONGODB,
  redis: DbType.REDIS,
  sqlite: DbType.SQLITE,
};

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
  if (typeName !== undefined && !(typeName in DOCKER_TYPES)) {
    throw new UsageError(
      `?type= must be one of ${Object.keys(DOCKER_TYPES).join(", ")}, got ${typeName}`,
    );
  }
  const path = decodeURIComponent(parsed.pathname);
  const type = typeName ? DOCKER_TYPES[typeName] : DbType.DB_UNSPECIFIED;
  // A path with a slash inside or a SQLite suffix is a file; else a database name.
  const isFile = type === DbType.SQLITE || /^\/.+\/|\.(db|sqlite3?)$/i.test(path);
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

/** Connection details a Target cannot carry: TLS for rediss://, ssl-mode for MySQL. */
export function urlExtras(url: string): ConnectionExtras {
  if (/^rediss:/i.test(url)) {
    const query = /\?(.*)$/.exec(url)?.[1];
    return {
      tls: true,
      sslCa: query ? new URLSearchParams(query).get("ssl-ca") ?? undefined : undefined,
    };
  }
  const query = /\?(.*)$/.exec(url)?.[1];
  if (/^mongodb(\+srv)?:/i.test(url)) {
    const parsed = parseMongoUrl(url);
    const { snapshot, ...options } = parsed.options;
    if (snapshot !== undefined && snapshot !== "true" && snapshot !== "false") {
      throw new UsageError(`snapshot must be true or false, got ${snapshot}`);
    }
    return {
      mongo: {
        hosts: parsed.hosts,
        srv: parsed.srv,
        options,
        snapshot: snapshot === undefined ? undefined : snapshot === "true",
      },
    };
  }
  if (/^postgres(ql)?:/i.test(url)) {
    const params = new URLSearchParams(query ?? "");
    const mode = params.get("sslmode") ?? undefined;
    if (mode && !["disable", "prefer", "require", "verify-ca", "verify-full"].includes(mode)) {
      throw new UsageError(
        `sslmode must be disable, prefer, require, verify-ca or verify-full, got ${mode}`,
      );
    }
    return {
      pgSslMode: mode as ConnectionExtras["pgSslMode"],
      sslCa: params.get("sslrootcert") ?? undefined,
    };
  }
  if (!/^(mysql|mariadb):/i.test(url) || !query) return {};
  const params = new URLSearchParams(query);
  const mode = (params.get("ssl-mode") ?? params.get("sslmode") ?? "").toUpperCase();
  if (
    mode && !["DISABLED", "PREFERRED", "REQUIRED", "VERIFY_CA", "VERIFY_IDENTITY"].includes(mode)
  ) {
    throw new UsageError(
      `ssl-mode must be DISABLED, PREFERRED, REQUIRED, VERIFY_CA or VERIFY_IDENTITY, got ${mode}`,
    );
  }
  const definer = params.get("definer");
  if (definer !== null && definer !== "keep" && definer !== "omit") {
    throw new UsageError(`definer must be keep or omit, got ${definer}`);
  }
  return {
    sslMode: (mode || undefined) as ConnectionExtras["sslMode"],
    sslCa: params.get("ssl-ca") ?? undefined,
    omitDefiner: definer === "omit",
  };
}
