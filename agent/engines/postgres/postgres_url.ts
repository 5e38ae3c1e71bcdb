/**
 * Local mode's PostgreSQL targets: `postgres://user[:password]@host[:port]/database`
 * (also `postgresql://`), libpq's `?host=/run/postgresql` for a UNIX socket
 * directory, PGUSER and PGPASSWORD when the URL has none, and `?sslmode=` /
 * `?sslrootcert=` for TLS.
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

/** The Target for a postgres:// URL; the error never repeats the password. */
export function postgresTarget(url: string, env: (name: string) => string | undefined): Target {
  const scheme = url.slice(0, url.indexOf(":") + 1).toLowerCase();
  const parsed = parseEngineUrl(url, `${scheme}//user[:password]@host[:port]/database`);
  const socket = parsed.searchParams.get("host");
  const password = passwordOf(parsed, "PGPASSWORD", env);
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

/** `?sslmode=` and `?sslrootcert=` of a postgres:// URL. */
export function postgresUrlExtras(url: string): ConnectionExtras {
  const params = new URLSearchParams(/\?(.*)$/.exec(url)?.[1] ?? "");
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
