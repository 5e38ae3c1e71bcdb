/**
 * How an engine's backup is restored inside a throwaway container of the
 * engine's own image (`verify --level restore --docker-image`): the tools to
 * run through `docker exec`, in order, and the check that reads the restored
 * data back. The families that support it give one in their `mod.ts`.
 *
 * @module
 */
import type { FormatCheck } from "./format_check.ts";

/** The database the backup is restored into, inside the container. */
export const RESTORE_DATABASE = "backupy_verify";

/** One engine family's restore into a database of a throwaway container, step by step. */
export interface DockerRestoreRecipe {
  kind: "database";
  /** The container's environment (throwaway credentials only). */
  containerEnv(password: string): Record<string, string>;
  /** Exec environment of every tool run. */
  execEnv(password: string): Record<string, string>;
  /** Exits 0 once the server takes connections. */
  ready: string[];
  /** Creates the empty database. */
  create: string[];
  /** Reads the dump on stdin into the database. */
  restore: string[];
  /** Per dump format (the structure check's name), a restore other than `restore`. */
  restoreFor?: Record<string, string[]>;
  /** Writes the database's data to stdout in a format `check` reads. */
  reread: string[];
  /** Prints the restored database's size in bytes. */
  size: string[];
  /** Reads what `reread` writes, with row digests (its module loaded when first asked for). */
  check(): Promise<FormatCheck>;
}

/**
 * A restore by the server loading a snapshot file as it starts (Redis): the
 * file goes into its data directory, the server stops without saving and
 * the container starts again on the file, as after a real restore; a
 * snapshot the server cannot load keeps it from coming up. What it loaded is
 * read back as the server's own new snapshot.
 */
export interface SnapshotRestoreRecipe {
  kind: "snapshot";
  /** Exits 0 once the server takes connections. */
  ready: string[];
  /** Reads the snapshot on stdin into the file the server loads at start. */
  place: string[];
  /** Stops the server without saving over the placed file. */
  stop: string[];
  /** Writes the server's own snapshot of what it loaded to stdout. */
  reread: string[];
  /** Reads what `reread` writes (its module loaded when first asked for). */
  check(): Promise<FormatCheck>;
}
