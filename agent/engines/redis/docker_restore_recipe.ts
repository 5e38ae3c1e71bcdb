/**
 * Redis in a throwaway container of its image: the RDB goes where the
 * server's `dir` and `dbfilename` say, the server stops without saving and
 * loads the file as it starts again; its own snapshot of what it loaded
 * (redis-cli --rdb) is read back.
 *
 * @module
 */
import type { SnapshotRestoreRecipe } from "../shared/docker_restore_recipe.ts";

const SNAPSHOT_OUT = "/tmp/backupy-verify-reread.rdb";

/** Redis restored by loading the snapshot at start-up. */
export const REDIS_DOCKER_RESTORE: SnapshotRestoreRecipe = {
  kind: "snapshot",
  ready: ["sh", "-c", "redis-cli ping | grep -q PONG"],
  place: [
    "sh",
    "-c",
    "d=$(redis-cli config get dir | sed -n 2p) && " +
    "f=$(redis-cli config get dbfilename | sed -n 2p) && " +
    'cat > "$d/$f.incoming" && mv "$d/$f.incoming" "$d/$f"',
  ],
  stop: ["redis-cli", "shutdown", "nosave"],
  reread: [
    "sh",
    "-c",
    "redis-cli config set repl-diskless-sync-delay 0 >/dev/null && " +
    `redis-cli --rdb ${SNAPSHOT_OUT} >/dev/null && cat ${SNAPSHOT_OUT} && rm -f ${SNAPSHOT_OUT}`,
  ],
  check: async () => new (await import("./rdb_check.ts")).RdbCheck(),
};
