/**
 * SQLite, as the registry knows it: a file, copied consistently with the
 * online backup API (node:sqlite) or with sqlite3 .backup in its container.
 * No image runs it: discovery finds its files in containers' mounts.
 *
 * @module
 */
import "./engine_names.ts";
import { DbType } from "@backupy/gen/backup/v1/common_pb.ts";
import type { EngineModule } from "../shared/engine_module.ts";
import { SQLITE_FORMAT } from "./sqlite_format.ts";
import { sqliteTarget } from "./sqlite_url.ts";
import { sqliteFilesInMounts } from "./sqlite_file_finder.ts";

/** SQLite's entry in the registry. */
export const SQLITE: EngineModule = {
  family: "sqlite",
  title: "SQLite",
  names: [{ name: "sqlite", dbType: DbType.SQLITE }],
  urlForms: [
    "sqlite:///path/to/file.db",
  ],
  schemes: { "sqlite:": "sqlite" },
  images: {},
  envHintKeys: [],
  secretEnv: [],
  capabilities: ["sqlite"],
  formats: [{
    format: SQLITE_FORMAT,
    loadCheck: async () => {
      const { SqliteCheck } = await import("./sqlite_check.ts");
      return (tempDir, digests) => new SqliteCheck(tempDir, digests);
    },
  }],
  fileDatabase: { namePattern: /\.(db|sqlite3?)$/i, findInMounts: sqliteFilesInMounts },
  scratchRestore: "file",
  targetFromUrl: sqliteTarget,
  async native({ connection, context }) {
    const { SqliteEngine } = await import("./sqlite_engine.ts");
    return new SqliteEngine(connection.database, context.tempDir);
  },
  async dockerExec(containers, target) {
    const { DockerExecSqliteEngine } = await import("./docker_exec_sqlite.ts");
    return new DockerExecSqliteEngine(containers, target);
  },
};
