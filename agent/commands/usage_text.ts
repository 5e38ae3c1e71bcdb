/**
 * `backupy-agent --help`: the commands and their flags. What depends on the
 * engines (the target URLs, which engines restore natively, which options
 * each honours, which verify at the restore level) is read from the
 * registry, so the text cannot fall behind an engine added or extended.
 *
 * @module
 */
import { type EngineModule, ENGINES } from "../engines/registry.ts";
import type { RestoreOption } from "../engines/shared/engine_module.ts";

/** Flag descriptions start in this column. */
const INDENT = " ".repeat(39);

/** The titles of the families for which `has` holds: "PostgreSQL, MySQL/MariaDB". */
function titles(has: (engine: EngineModule) => boolean): string {
  return ENGINES.filter(has).map((e) => e.title).join(", ");
}

/** Every family's URL forms, one per line, the first after `--target URL`. */
function urlForms(): string {
  const lines = ENGINES.flatMap((e) => e.urlForms);
  lines[lines.length - 1] += ",";
  return lines.map((line, i) => (i === 0 ? line : INDENT + line)).join("\n");
}

/** Where `verify --level restore` restores each family without Docker. */
function scratchPlaces(): string {
  const places = {
    file: "a temporary file",
    database: "a temporary database on --scratch",
    prefixed: "temporary databases on --scratch",
    server: "--scratch, an empty server",
  };
  return ENGINES.filter((e) => e.scratchRestore).map((e) =>
    `${e.title}: ${places[e.scratchRestore!]}`
  ).join("; ");
}

/** Wraps `text` into lines of at most `width` characters, continued at INDENT. */
function wrap(text: string, width = 54): string {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  lines.push(line);
  return lines.join(`\n${INDENT}`);
}

/** The whole usage text for version `version`. */
export function usageText(version: string): string {
  const restorable = titles((e) => !e.manualRestore);
  const honours = (option: RestoreOption) =>
    titles((e) => e.restoreOptions?.includes(option) ?? false);
  const scratchSchemes = ENGINES.filter((e) =>
    e.scratchRestore === "database" || e.scratchRestore === "prefixed" ||
    e.scratchRestore === "server"
  )
    .map((e) => `${e.title}: ${Object.keys(e.schemes).map((s) => `${s}//`).join(" or ")}`)
    .join("; ");
  return `backupy-agent ${version}: the Backupy database backup agent

Usage: backupy-agent [COMMAND] [FLAGS]

Commands:
  run            the service (default): connect to the control plane, take commands,
                 run backups, until SIGTERM. Configured by the environment:
                 BACKUPY_AGENT_KEY (or _FILE), BACKUPY_SERVER_URL, BACKUPY_STATE_DIR, ...
  backup         one backup without a control plane:
                   --target URL        ${urlForms()}
                                       docker://CONTAINER[/DATABASE|/PATH/FILE.db][?type=ENGINE]
                                       (the engine's own dump tool inside the container,
                                       credentials from its environment)
                   --out FILE|-        where the encrypted backup goes
                   --key-file F        the DEK (32 bytes, 64 hex chars or base64), or
                   --generate-key F    write a fresh DEK to F (mode 0600, refused if F exists)
                   --compression C     zstd (default), gzip or none
                   --with-privileges   PostgreSQL: owners and grants too (the roles must
                                       exist where it is restored); off by default
                   --no-manifest       write no OUT.manifest (it costs a quarter to a third
                                       more CPU while dumping; verify --level manifest and
                                       restore need it)
                   -q, --quiet         no progress meter and no report (errors still print)
                   --json              the result as one JSON object on stdout instead of
                                       prose (not with --out -)
  restore        put a local-mode backup back, verified first
                 (${restorable}):
                   --target URL        as for backup (a SQLite path must not exist yet)
                   --in FILE           the encrypted backup
                   --key-file F        its key
                   --sha256 HEX        its checksum (printed by backup)
                   --skip-decompress   for backups made with --compression none
                   --clean             ${
    wrap(
      `${
        honours("clean")
      }: drop and recreate a target database that already has tables (otherwise refused)`,
    )
  }
                   --no-single-transaction
                                       ${
    wrap(`${honours("singleTransaction")}: commit statement by statement`)
  }
                   --replace           ${
    wrap(
      `${
        honours("replace")
      }: overwrite what exists in the target (otherwise it is left alone and named)`,
    )
  }
                   --drop              ${
    wrap(
      `${
        honours("drop")
      }: drop each collection the backup holds before restoring it (otherwise refused when one exists)`,
    )
  }
                   --rename FROM=TO    ${
    wrap(
      `${
        honours("rename")
      }: restore database FROM as TO, or collection db.coll as db2.coll2 (repeatable)`,
    )
  }
                   -q, --quiet, --json as for backup
  version        print version, commit, Deno version and target
  health-check   exit 0 when the agent running with this BACKUPY_STATE_DIR is healthy
  dump-state     print the state store as JSON; secrets as <sealed N bytes>
                   --allow-secrets     open them (needs BACKUPY_AGENT_KEY)
  verify         prove a backup is whole without restoring it: every frame, the
                 compressed stream, the SHA-256, and the dump by its own format
                   --in FILE           the encrypted backup
                   --key-file F        its key (with --sha256 HEX, printed by backup), or
                   --token JWT / --token-file F   the server's decryption token
                   --level L           structure (default): frames, compression, SHA-256, the
                                       dump's format; manifest: also every object's rows
                                       and digest against the manifest made at backup time;
                                       ${
    wrap(
      `restore: also restore it, read it back and compare with the manifest (${scratchPlaces()})`,
    )
  }
                   --manifest F        the manifest (default: FILE.manifest, beside the backup)
                   --scratch URL       ${
    wrap(`level restore: the scratch server (${scratchSchemes})`)
  }
                   --docker-image IMG  level restore: restore instead in a throwaway container of
                                       IMG (no network) with the engine's own tools, re-read
                                       with its dump tool, compare; the container is removed
                                       ${
    wrap(`(${titles((e) => e.dockerRestore !== undefined)}; DOCKER_HOST or BACKUPY_DOCKER_SOCKET)`)
  }
                   --allow-expired     accept an expired token
                   --json              the report as one JSON object
  manifest       the manifests kept by service mode (BACKUPY_VERIFY=manifest), newest first
                   --run ID --out F    write that run's manifest (encrypted with the run's
                                       DEK, needs BACKUPY_AGENT_KEY) for verify --manifest F
                   --json              the list as JSON
  discover       find the database containers on this Docker host (DOCKER_HOST or
                 BACKUPY_DOCKER_SOCKET) and print names, types, ports, env hint keys
                   --json              as JSON

Every command takes --help. Exit codes: 0 success, 1 failure, 2 usage error.
`;
}
