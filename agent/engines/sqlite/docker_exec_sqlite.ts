/**
 * SQLite through `docker exec`: the container's `sqlite3 FILE ".backup
 * TMP"` takes an online, consistent copy into a temporary file in the
 * container, which is streamed out with `cat` and removed on every exit
 * path. The target's `database` is the file's path inside the container.
 *
 * @module
 */
import "./engine_names.ts";
import { DockerExecEngine } from "../shared/docker_exec_engine.ts";
import { DumpError, type DumpStream } from "../shared/engine.ts";
import { SqliteFileCheck } from "./sqlite_engine.ts";
import { SQLITE_FORMAT } from "./sqlite_format.ts";

/**
 * Copies the database into `$2` and prints the copy's size. sqlite3 would
 * create a missing file (and back up an empty database): refuse instead.
 */
const BACKUP_SCRIPT = [
  'if [ ! -f "$1" ] || [ ! -r "$1" ]; then echo "no readable file $1 in the container" >&2; exit 2; fi',
  'sqlite3 "$1" ".backup \'$2\'" && wc -c < "$2"',
].join("\n");

/** sqlite3 .backup inside the container that has the file. */
export class DockerExecSqliteEngine extends DockerExecEngine {
  readonly name = "sqlite" as const;
  readonly format = SQLITE_FORMAT;

  #path(): string {
    const path = this.target.database;
    if (!path.startsWith("/")) {
      throw new DumpError("a DOCKER_EXEC SQLite target needs the database file's absolute path");
    }
    return path;
  }

  override async version(signal?: AbortSignal): Promise<string> {
    const out = await this.runText("sqlite3", ["sqlite3", "--version"], {}, signal);
    const number = /^(\d+\.\d+(\.\d+)?)/.exec(out.trim())?.[1];
    if (!number) throw new DumpError("sqlite3 --version printed no version");
    return `SQLite ${number}`;
  }

  override async estimateSize(signal?: AbortSignal): Promise<number | undefined> {
    const out = await this.runText(
      "wc",
      ["sh", "-c", 'wc -c < "$1"', "sh", this.#path()],
      {},
      signal,
    );
    const size = Number(out.trim());
    return Number.isFinite(size) && size > 0 ? size : undefined;
  }

  override async dump(signal: AbortSignal): Promise<DumpStream> {
    const path = this.#path();
    const copy = `/tmp/backupy-${crypto.randomUUID()}.db`;
    const remove = () => this.runQuietly(["rm", "-f", copy]);
    try {
      const size = Number(
        (await this.runText("sqlite3", ["sh", "-c", BACKUP_SCRIPT, "sh", path, copy], {}, signal))
          .trim(),
      );
      if (!Number.isFinite(size)) throw new DumpError("sqlite3 .backup reported no size");
      return await this.runDump("cat", ["cat", copy], {}, signal, {
        check: new SqliteFileCheck(size),
        cleanup: remove,
      });
    } catch (error) {
      await remove();
      throw error;
    }
  }
}
