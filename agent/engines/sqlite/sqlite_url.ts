/**
 * Local mode's SQLite targets: `sqlite:///ABSOLUTE/PATH` - three slashes,
 * then the database file's absolute path.
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

/** The Target for a sqlite:/// URL. */
export function sqliteTarget(url: string): Target {
  const path = decodeURIComponent(url.slice("sqlite://".length));
  if (!/^sqlite:\/\/\//i.test(url) || path.length < 2) {
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
