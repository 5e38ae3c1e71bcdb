/**
 * Local mode's MongoDB targets: `mongodb://[user[:password]@]host[:port][,host...]/[database][?options]`
 * and `mongodb+srv://`, parsed by hand because a WHATWG URL holds one host;
 * `?snapshot=true|false` and `?systemDatabases=true|false` are ours, every
 * other option goes to the driver.
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
import { UsageError } from "../../../decrypt/errors.ts";
import type { ConnectionExtras } from "../shared/engine_module.ts";

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

/** The Target for a mongodb:// URL. */
export function mongoTarget(url: string): Target {
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

/** One of our own true/false options, absent when the URL leaves it out. */
function flag(name: string, value: string | undefined): boolean | undefined {
  if (value === undefined) return undefined;
  if (value !== "true" && value !== "false") {
    throw new UsageError(`${name} must be true or false, got ${value}`);
  }
  return value === "true";
}

/**
 * The hosts, SRV and driver options a Target cannot carry, and our own
 * options: `?snapshot=` and `?systemDatabases=false` (a whole-server dump
 * without admin and config).
 */
export function mongoUrlExtras(url: string): ConnectionExtras {
  const parsed = parseMongoUrl(url);
  const { snapshot, systemDatabases, ...options } = parsed.options;
  return {
    mongo: {
      hosts: parsed.hosts,
      srv: parsed.srv,
      options,
      snapshot: flag("snapshot", snapshot),
      systemDatabases: flag("systemDatabases", systemDatabases),
    },
  };
}
