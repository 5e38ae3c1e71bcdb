/**
 * JSON-lines logging on stderr (docs/agent.md section 10): one object per line
 * with `ts`, `level`, `msg`, `component` and fields. Secrets are typed
 * (`Secret`) and serialize as `<redacted>`; URLs lose their query strings.
 *
 * @module
 */
import { LOG_LEVELS, type LogLevelName } from "./log_levels.ts";
import { redactText } from "./redact.ts";

/** Extra structured fields of a log line. */
export type LogFields = Record<string, unknown>;

/** One log line as listeners see it. */
export interface LogEntry {
  /** Milliseconds since the epoch. */
  ts: number;
  level: LogLevelName;
  msg: string;
  component: string;
  fields: LogFields;
}

/** Keys every line has; fields of these names are written as `field_<name>`. */
const RESERVED = new Set(["ts", "level", "msg", "component"]);

const rank = (level: LogLevelName) => LOG_LEVELS.indexOf(level);

/** Turns a field value into something JSON can carry safely. */
function safeValue(value: unknown): unknown {
  if (value instanceof Error) return redactText(value.message);
  if (typeof value === "string") return redactText(value);
  if (typeof value === "bigint") return value.toString();
  if (value instanceof Uint8Array) return `<${value.length} bytes>`;
  return value;
}

/** State shared by a logger and its children. */
class LogRoot {
  level: LogLevelName;
  readonly listeners = new Set<(entry: LogEntry) => void>();
  constructor(
    level: LogLevelName,
    readonly write: (line: string) => void,
    readonly now: () => number,
  ) {
    this.level = level;
  }
}

/**
 * A component's logger. {@linkcode Logger.child} makes one for a
 * sub-component or with fixed fields (a run's `job_id` and `run_id`).
 *
 * @example
 * ```ts
 * import { Logger } from "./logger.ts";
 * import { Secret } from "../../decrypt/secret.ts";
 * const lines: string[] = [];
 * const log = Logger.create("info", (line) => lines.push(line)).child("demo");
 * log.info("connected", { key: new Secret("bkpy_live_x") });
 * console.assert(JSON.parse(lines[0]).key === "<redacted>");
 * ```
 */
export class Logger {
  readonly #root: LogRoot;
  readonly #component: string;
  readonly #fields: LogFields;

  private constructor(root: LogRoot, component: string, fields: LogFields) {
    this.#root = root;
    this.#component = component;
    this.#fields = fields;
  }

  /** A root logger writing lines with `write` (stderr by default). */
  static create(
    level: LogLevelName,
    write: (line: string) => void = (line) => console.error(line),
    now: () => number = Date.now,
  ): Logger {
    return new Logger(new LogRoot(level, write, now), "agent", {});
  }

  /** A logger for `component`, adding `fields` to every line. */
  child(component: string, fields: LogFields = {}): Logger {
    return new Logger(this.#root, component, { ...this.#fields, ...fields });
  }

  /** Changes the level for this logger and all related ones (the server may). */
  setLevel(level: LogLevelName): void {
    this.#root.level = level;
  }

  /** The current level. */
  get level(): LogLevelName {
    return this.#root.level;
  }

  /** Calls `listener` for every line written at or above the level; returns an unsubscribe. */
  subscribe(listener: (entry: LogEntry) => void): () => void {
    this.#root.listeners.add(listener);
    return () => this.#root.listeners.delete(listener);
  }

  /** Logs at trace. */
  trace(msg: string, fields?: LogFields): void {
    this.#log("trace", msg, fields);
  }
  /** Logs at debug. */
  debug(msg: string, fields?: LogFields): void {
    this.#log("debug", msg, fields);
  }
  /** Logs at info. */
  info(msg: string, fields?: LogFields): void {
    this.#log("info", msg, fields);
  }
  /** Logs at warn. */
  warn(msg: string, fields?: LogFields): void {
    this.#log("warn", msg, fields);
  }
  /** Logs at error. */
  error(msg: string, fields?: LogFields): void {
    this.#log("error", msg, fields);
  }

  #log(level: LogLevelName, msg: string, fields: LogFields = {}): void {
    const root = this.#root;
    if (rank(level) < rank(root.level)) return;
    const merged: LogFields = {};
    for (const [key, value] of Object.entries({ ...this.#fields, ...fields })) {
      // A field never replaces the line's own ts/level/msg/component.
      if (value !== undefined) merged[RESERVED.has(key) ? `field_${key}` : key] = safeValue(value);
    }
    const entry: LogEntry = {
      ts: root.now(),
      level,
      msg: redactText(msg),
      component: this.#component,
      fields: merged,
    };
    const line = JSON.stringify({
      ts: new Date(entry.ts).toISOString(),
      level,
      msg: entry.msg,
      component: entry.component,
      ...merged,
    });
    root.write(line);
    for (const listener of root.listeners) {
      try {
        listener(entry);
      } catch {
        // A listener must never break logging.
      }
    }
  }
}
