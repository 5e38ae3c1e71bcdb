/**
 * MongoDB, as the registry knows it: the native engine writes a mongodump
 * archive through the driver, the DOCKER_EXEC one runs mongodump.
 *
 * @module
 */
import "./engine_names.ts";
import { DbType } from "@backupy/gen/backup/v1/common_pb.ts";
import { Secret } from "../../../decrypt/secret.ts";
import type { EngineModule } from "../shared/engine_module.ts";
import { MONGO_ARCHIVE_FORMAT } from "./mongo_archive_format.ts";
import { mongoTarget, mongoUrlExtras } from "./mongo_url.ts";

/** MongoDB's entry in the registry. */
export const MONGODB: EngineModule = {
  family: "mongodb",
  title: "MongoDB",
  names: [{ name: "mongodb", dbType: DbType.MONGODB }],
  urlForms: [
    "mongodb://[user[:password]@]host[:port][,host...]/",
    "[database][?options] (or mongodb+srv://)",
  ],
  schemes: { "mongodb:": "mongodb", "mongodb+srv:": "mongodb" },
  images: { "mongo": "mongodb", "bitnami/mongodb": "mongodb" },
  envHintKeys: [
    "MONGO_INITDB_ROOT_USERNAME",
    "MONGO_INITDB_ROOT_PASSWORD",
    "MONGO_INITDB_DATABASE",
  ],
  secretEnv: [],
  capabilities: ["mongodump"],
  formats: [{
    format: MONGO_ARCHIVE_FORMAT,
    loadCheck: async () => {
      const { MongoArchiveCheck } = await import("./mongo_archive_check.ts");
      return (_, digests) => new MongoArchiveCheck(digests);
    },
  }],
  restoreOptions: ["drop", "rename"],
  scratchRestore: "prefixed",
  targetFromUrl: mongoTarget,
  urlExtras: mongoUrlExtras,
  async native({ connection, extras }) {
    const { MongoEngine } = await import("./mongo_engine.ts");
    return new MongoEngine({
      hosts: extras.mongo?.hosts ??
        [`${connection.host || "127.0.0.1"}:${connection.port || 27017}`],
      srv: extras.mongo?.srv,
      username: connection.username || undefined,
      password: connection.passwordSecretRef ? new Secret(connection.passwordSecretRef) : undefined,
      database: connection.database,
      options: extras.mongo?.options,
      snapshot: extras.mongo?.snapshot,
      systemDatabases: extras.mongo?.systemDatabases,
      databasePrefix: extras.databasePrefix,
    });
  },
  async dockerExec(containers, target) {
    const { DockerExecMongoEngine } = await import("./docker_exec_mongodb.ts");
    return new DockerExecMongoEngine(containers, target);
  },
};
