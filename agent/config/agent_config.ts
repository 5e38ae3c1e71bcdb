/**
 * The agent's configuration from the environment (docs/agent.md section 2):
 * `BACKUPY_*` names, the Go agent's older `BACKUP_*` names as aliases (with
 * a deprecation warning), and a `_FILE` variant for every secret.
 *
 * @module
 */
import { Secret } from "../../decrypt/secret.ts";
import { ConfigError } from "./config_error.ts";
import { CronExpression } from "./cron_expression.ts";
import { LOG_LEVELS, type LogLevelName } from "../log/log_levels.ts";

/** The validated configuration. */
export interface AgentConfig {
  /** Control plane URL as configured (docs/wire-protocol.md section 2 turns it into a WebSocket URL). */
  serverUrl: string;
  /** The agent key, when set (required for `run`). */
  agentKey?: Secret<string>;
  /** State store directory. */
  stateDir: string;
  /** trace, debug, info, warn or error. */
  logLevel: LogLevelName;
  /** Docker engine socket path. */
  dockerSocket: string;
  /** Ignore Docker entirely. */
  disableDiscovery: boolean;
  /** Allow http:// and ws:// server URLs. */
  allowInsecure: boolean;
  /** host:port for /metrics and /healthz; undefined disables. */
  metricsListen?: { hostname: string; port: number };
  /** Parallel runs until the server says otherwise. */
  maxParallelJobs: number;
  /** Verify every backup after it was reported (BACKUPY_VERIFY); undefined: do not. */
  verifyAfterBackup?: AfterBackupVerifyLevel;
  /** When to restore each job's latest backup for real (BACKUPY_VERIFY_RESTORE_CRON). */
  verifyRestoreCron?: CronExpression;
  /** Scratch servers for those restores, per job or `*` (BACKUPY_VERIFY_SCRATCH). */
  verifyScratch: ScratchServer[];
}

/** A server restore verification may create temporary databases on. */
export interface ScratchServer {
  /** A job id, or `*` for every job of the URL's engine. */
  job: string;
  /**
   * postgres://, mysql:// or mariadb:// URL with credentials, or
   * `docker-image:IMAGE` (one job's: restore in a throwaway container).
   */
  url: Secret<string>;
}

/** The prefix of a scratch entry that names an image instead of a server. */
export const DOCKER_IMAGE_PREFIX = "docker-image:";

/** Levels service mode can verify after every backup (restore needs a schedule). */
export const AFTER_BACKUP_VERIFY_LEVELS = ["structure", "manifest"] as const;
/** One of {@linkcode AFTER_BACKUP_VERIFY_LEVELS}. */
export type AfterBackupVerifyLevel = typeof AFTER_BACKUP_VERIFY_LEVELS[number];

/** Reads variables: the environment by default, a map in tests. */
export type EnvReader = (name: string) => string | undefined;

/** What loading found besides the config: deprecation warnings to log. */
export interface LoadedConfig {
  config: AgentConfig;
  warnings: string[];
}

const AGENT_KEY_PATTERN = /^(bkpy_(live|test)_[A-Za-z0-9]{32}|[0-9a-f]{64})$/;

/** Checks an agent key's shape; the message never contains the key. */
export function validateAgentKey(key: string, variable = "BACKUPY_AGENT_KEY"): Secret<string> {
  if (!AGENT_KEY_PATTERN.test(key)) {
    throw new ConfigError(
      `${variable}: must be bkpy_live_ or bkpy_test_ followed by 32 letters or digits, ` +
        `or 64 lowercase hex characters (the value given has ${key.length} characters)`,
    );
  }
  return new Secret(key);
}

function parseBoolean(name: string, value: string): boolean {
  const v = value.trim().toLowerCase();
  if (["1", "true", "yes", "on"].includes(v)) return true;
  if (["0", "false", "no", "off", ""].includes(v)) return false;
  throw new ConfigError(`${name}: must be true or false, got ${JSON.stringify(value)}`);
}

function parseListen(name: string, value: string): { hostname: string; port: number } | undefined {
  if (value.trim() === "") return undefined;
  const match = /^(\[[^\]]+\]|[^:]*):(\d{1,5})$/.exec(value.trim());
  const port = match ? Number(match[2]) : NaN;
  if (!match || port > 65535) {
    throw new ConfigError(
      `${name}: must be host:port (e.g. 127.0.0.1:9090) or empty, got ${JSON.stringify(value)}`,
    );
  }
  const hostname = match[1].replace(/^\[|\]$/g, "") || "0.0.0.0";
  return { hostname, port };
}

function parseServerUrl(name: string, value: string, allowInsecure: boolean): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(`${name}: not a URL: ${JSON.stringify(value)}`);
  }
  if (url.username || url.password) {
    throw new ConfigError(`${name}: must not contain credentials (the agent key authenticates)`);
  }
  const secure = url.protocol === "https:" || url.protocol === "wss:";
  const insecure = url.protocol === "http:" || url.protocol === "ws:";
  if (!secure && !insecure) {
    throw new ConfigError(
      `${name}: scheme must be https or wss, got ${url.protocol.replace(":", "")}`,
    );
  }
  if (insecure && !allowInsecure) {
    throw new ConfigError(
      `${name}: plain ${
        url.protocol.replace(":", "")
      } needs BACKUPY_DEV_ALLOW_INSECURE=true (local development only)`,
    );
  }
  return value;
}

/**
 * `JOB=URL` entries separated by white space; `*=URL` serves every job of
 * the URL's engine. The message names an entry by its position, never its
 * text (it holds a password).
 */
function parseScratchServers(variable: string, value: string): ScratchServer[] {
  return value.split(/\s+/).filter((entry) => entry !== "").map((entry, i) => {
    const equals = entry.indexOf("=");
    const job = entry.slice(0, equals);
    const url = entry.slice(equals + 1);
    const image = url.startsWith(DOCKER_IMAGE_PREFIX);
    if (
      equals <= 0 ||
      !(image
        ? url.length > DOCKER_IMAGE_PREFIX.length && job !== "*"
        : /^(postgres|postgresql|mysql|mariadb):\/\/[^/]/.test(url) && URL.canParse(url))
    ) {
      throw new ConfigError(
        `${variable}: entry ${i + 1} must be JOB_ID=URL or *=URL with a postgres://, ` +
          `mysql:// or mariadb:// URL, or JOB_ID=docker-image:IMAGE`,
      );
    }
    return { job, url: new Secret(url) };
  });
}

/**
 * Loads the configuration. `requireKey` is true for `run`. Throws
 * {@linkcode ConfigError} naming the variable and the rule it broke.
 */
export function loadAgentConfig(
  env: EnvReader,
  options: { requireKey: boolean; readFile?: (path: string) => string },
): LoadedConfig {
  const warnings: string[] = [];
  const readFile = options.readFile ?? ((path: string) => Deno.readTextFileSync(path));

  /** The value of BACKUPY_<name>, or of the old BACKUP_<name> with a warning. */
  const get = (name: string): { value: string; variable: string } | undefined => {
    const current = `BACKUPY_${name}`;
    const value = env(current);
    if (value !== undefined) return { value, variable: current };
    const old = `BACKUP_${name}`;
    const oldValue = env(old);
    if (oldValue !== undefined) {
      warnings.push(`${old} is deprecated: use ${current}`);
      return { value: oldValue, variable: old };
    }
    return undefined;
  };

  /** A secret from BACKUPY_<name> or the file named by BACKUPY_<name>_FILE. */
  const getSecret = (name: string): { value: string; variable: string } | undefined => {
    const direct = get(name);
    const file = get(`${name}_FILE`);
    if (direct && file) {
      throw new ConfigError(`${direct.variable} and ${file.variable}: set only one of them`);
    }
    if (!file) return direct;
    let content: string;
    try {
      content = readFile(file.value);
    } catch (error) {
      throw new ConfigError(
        `${file.variable}: cannot read ${file.value}: ${(error as Error).message}`,
      );
    }
    return { value: content.trim(), variable: file.variable };
  };

  const allowInsecure = parseBoolean(
    "BACKUPY_DEV_ALLOW_INSECURE",
    get("DEV_ALLOW_INSECURE")?.value ?? "false",
  );
  const server = get("SERVER_URL");
  const serverUrl = parseServerUrl(
    server?.variable ?? "BACKUPY_SERVER_URL",
    server?.value ?? "https://api.backupy.ru",
    allowInsecure,
  );

  const key = getSecret("AGENT_KEY");
  let agentKey: Secret<string> | undefined;
  if (key && key.value !== "") agentKey = validateAgentKey(key.value, key.variable);
  else if (options.requireKey) {
    throw new ConfigError(
      "BACKUPY_AGENT_KEY: required (or BACKUPY_AGENT_KEY_FILE naming a file that holds it)",
    );
  }

  const stateDir = get("STATE_DIR")?.value || "/var/lib/backupy";
  const level = (get("LOG_LEVEL")?.value ?? "info").trim().toLowerCase();
  if (!(LOG_LEVELS as readonly string[]).includes(level)) {
    throw new ConfigError(
      `BACKUPY_LOG_LEVEL: must be one of ${LOG_LEVELS.join(", ")}, got ${JSON.stringify(level)}`,
    );
  }
  const parallel = get("MAX_PARALLEL_JOBS");
  const maxParallelJobs = Number(parallel?.value ?? "2");
  if (!Number.isInteger(maxParallelJobs) || maxParallelJobs < 1 || maxParallelJobs > 64) {
    throw new ConfigError(
      `${
        parallel?.variable ?? "BACKUPY_MAX_PARALLEL_JOBS"
      }: must be a whole number from 1 to 64, got ${JSON.stringify(parallel?.value)}`,
    );
  }
  const metrics = get("METRICS_LISTEN_ADDR");
  const verify = (get("VERIFY")?.value ?? "").trim().toLowerCase();
  if (
    !["", "off", "none", ...AFTER_BACKUP_VERIFY_LEVELS].includes(verify)
  ) {
    throw new ConfigError(
      `BACKUPY_VERIFY: must be ${AFTER_BACKUP_VERIFY_LEVELS.join(" or ")} (or empty for none), ` +
        `got ${JSON.stringify(verify)}`,
    );
  }
  const cron = get("VERIFY_RESTORE_CRON");
  const verifyRestoreCron = cron && cron.value.trim() !== ""
    ? CronExpression.parse(cron.value, cron.variable)
    : undefined;
  const scratch = getSecret("VERIFY_SCRATCH");
  const verifyScratch = scratch ? parseScratchServers(scratch.variable, scratch.value) : [];
  const config: AgentConfig = {
    serverUrl,
    agentKey,
    stateDir,
    logLevel: level as LogLevelName,
    dockerSocket: get("DOCKER_SOCKET")?.value || "/var/run/docker.sock",
    disableDiscovery: parseBoolean(
      "BACKUPY_DISABLE_DISCOVERY",
      get("DISABLE_DISCOVERY")?.value ?? "false",
    ),
    allowInsecure,
    metricsListen: parseListen(
      metrics?.variable ?? "BACKUPY_METRICS_LISTEN_ADDR",
      metrics?.value ?? "127.0.0.1:9090",
    ),
    maxParallelJobs,
    verifyAfterBackup: (AFTER_BACKUP_VERIFY_LEVELS as readonly string[]).includes(verify)
      ? verify as AfterBackupVerifyLevel
      : undefined,
    verifyRestoreCron,
    verifyScratch,
  };
  return { config, warnings };
}

/** Creates the state directory (0700) and proves it writable; throws ConfigError. */
export function prepareStateDir(dir: string): void {
  try {
    Deno.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const probe = `${dir}/.write-check-${Deno.pid}`;
    Deno.writeTextFileSync(probe, "ok");
    Deno.removeSync(probe);
  } catch (error) {
    throw new ConfigError(
      `BACKUPY_STATE_DIR: ${dir} must be a writable directory: ${(error as Error).message}`,
    );
  }
}
