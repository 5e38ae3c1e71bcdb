/**
 * Command-line flags on `node:util` `parseArgs`, with the habits of the Go
 * CLIs our users come from: `-flag` as well as `--flag`, and boolean flags
 * written `--flag=false`, `--no-flag` or `--flag false`. The last form must
 * not silently end flag parsing (Go's `flag` package did).
 *
 * @module
 */
import { parseArgs } from "node:util";
import { UsageError } from "./errors.ts";

/** One flag: a string that takes a value or a boolean switch. */
export interface FlagSpec {
  /** The kind of flag. */
  type: "string" | "boolean";
  /** A one-letter alias (`-o`). */
  short?: string;
  /** The value when the flag is absent. */
  default?: string | boolean;
  /** A string flag that may be given several times: its values in order. */
  multiple?: boolean;
}

/** Parsed flags: values by long name, then positional arguments. */
export interface ParsedFlags {
  /** Flag values by long name. */
  values: Record<string, string | boolean | string[] | undefined>;
  /** Arguments that are not flags, in order. */
  positionals: string[];
}

const BOOLEAN_WORDS: Record<string, boolean> = { true: true, false: false, "1": true, "0": false };

/** Rewrites Go-style spellings into what `parseArgs` understands. */
function normalize(args: string[], spec: Record<string, FlagSpec>): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    let arg = args[i];
    if (arg === "--") {
      out.push(...args.slice(i));
      break;
    }
    // -name / -name=value for a known long flag -> --name
    const single = /^-([a-z][a-z0-9-]+)(=.*)?$/.exec(arg);
    if (single && single[1] in spec) arg = `-${arg}`;
    const long = /^--([a-z][a-z0-9-]*)(?:=(.*))?$/.exec(arg);
    if (long && spec[long[1]]?.type === "boolean") {
      const name = long[1];
      let word = long[2];
      if (word === undefined && args[i + 1] !== undefined && args[i + 1] in BOOLEAN_WORDS) {
        word = args[++i];
      }
      if (word !== undefined) {
        if (!(word in BOOLEAN_WORDS)) {
          throw new UsageError(`--${name} takes true or false, not ${JSON.stringify(word)}`);
        }
        arg = BOOLEAN_WORDS[word] ? `--${name}` : `--no-${name}`;
      }
    }
    out.push(arg);
  }
  return out;
}

/**
 * Parses `args` against `spec`. Unknown flags, missing values and malformed
 * booleans are {@linkcode UsageError}s.
 *
 * @example
 * ```ts
 * import { parseFlags } from "./cli_flags.ts";
 * const spec = { in: { type: "string" as const }, "verify-sha256": { type: "boolean" as const, default: true } };
 * const { values } = parseFlags(["-in", "f.enc", "--verify-sha256", "false"], spec);
 * console.assert(values.in === "f.enc" && values["verify-sha256"] === false);
 * ```
 */
export function parseFlags(args: string[], spec: Record<string, FlagSpec>): ParsedFlags {
  try {
    const { values, positionals } = parseArgs({
      args: normalize(args, spec),
      options: spec,
      strict: true,
      allowPositionals: true,
      allowNegative: true,
    });
    return { values: values as ParsedFlags["values"], positionals };
  } catch (error) {
    if (error instanceof UsageError) throw error;
    const message = (error as Error).message.replace(/\. To specify a positional.*$/s, "");
    throw new UsageError(message);
  }
}
