/**
 * Local mode's MySQL/MariaDB targets: `mysql://` or `mariadb://user[:password]@host[:port]/[database]`,
 * `?socket=` for a UNIX socket, MYSQL_PWD when the URL has no password,
 * `?ssl-mode=` / `?ssl-ca=` for TLS and `?definer=omit`.
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

/** The Target for a mysql:// or mariadb:// URL; the error never repeats the password. */
export function mysqlTarget(url: string, env: (name: string) => string | undefined): Target {
  const scheme = url.slice(0, url.indexOf(":") + 1).toLowerCase();
  const parsed = parseEngineUrl(url, `${scheme}//user[:password]@host[:port]/[database]`);
  const socket = parsed.searchParams.get("socket");
  const password = passwordOf(parsed, "MYSQL_PWD", env);
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

/** `?ssl-mode=`, `?ssl-ca=` and `?definer=` of a mysql:// URL. */
export function mysqlUrlExtras(url: string): ConnectionExtras {
  const query = /\?(.*)$/.exec(url)?.[1];
  if (!query) return {};
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
