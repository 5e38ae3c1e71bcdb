/**
 * Local mode's Redis targets: `redis://[user:password@]host[:port][/db]`,
 * `rediss://` for TLS (with `?ssl-ca=`), REDISCLI_AUTH when the URL has no
 * password.
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
import { parseEngineUrl, passwordOf } from "../shared/engine_url.ts";

/** The Target for a redis:// or rediss:// URL; the error never repeats the password. */
export function redisTarget(url: string, env: (name: string) => string | undefined): Target {
  const parsed = parseEngineUrl(url, "redis://[user:password@]host[:port][/db]");
  const password = passwordOf(parsed, "REDISCLI_AUTH", env);
  const path = parsed.pathname.replace(/^\//, "");
  if (path && !/^\d{1,5}$/.test(path)) {
    throw new UsageError(`a Redis URL's path is a database number, not ${JSON.stringify(path)}`);
  }
  return create(TargetSchema, {
    id: "local",
    type: DbType.REDIS,
    displayName: `${parsed.hostname}:${parsed.port || 6379}`,
    connection: create(ConnectionConfigSchema, {
      host: parsed.hostname.replace(/^\[|\]$/g, ""),
      port: Number(parsed.port || 6379),
      username: parsed.username ? decodeURIComponent(parsed.username) : "",
      passwordSecretRef: password,
      // A logical database: only a scratch restore (verify) uses it; a backup is of them all.
      database: path,
      strategy: ConnectionStrategy.TCP,
    }),
  });
}

/** TLS for rediss://, with its `?ssl-ca=`. */
export function redisUrlExtras(url: string): ConnectionExtras {
  if (!/^rediss:/i.test(url)) return {};
  const query = /\?(.*)$/.exec(url)?.[1];
  return {
    tls: true,
    sslCa: query ? new URLSearchParams(query).get("ssl-ca") ?? undefined : undefined,
  };
}
