/**
 * Five-field cron expressions in UTC (minute hour day-of-month month
 * day-of-week), as the server's job schedules are written
 * (docs/wire-protocol.md, BackupJobSpec.cron): `*`, numbers, `a-b` ranges,
 * `/n` steps, comma lists, month and weekday names, and 7 for Sunday.
 * As in Vixie cron, when both day fields are restricted a day matches
 * either of them.
 *
 * @module
 */
import { ConfigError } from "./config_error.ts";

interface Field {
  min: number;
  max: number;
  names?: string[];
}

const FIELDS: Field[] = [
  { min: 0, max: 59 },
  { min: 0, max: 23 },
  { min: 1, max: 31 },
  {
    min: 1,
    max: 12,
    names: ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"],
  },
  { min: 0, max: 7, names: ["sun", "mon", "tue", "wed", "thu", "fri", "sat"] },
];
const FIELD_NAMES = ["minute", "hour", "day of month", "month", "day of week"];

/** A parsed expression; {@linkcode CronExpression.next} gives fire times. */
export class CronExpression {
  readonly #allowed: Set<number>[];
  readonly #domRestricted: boolean;
  readonly #dowRestricted: boolean;

  private constructor(allowed: Set<number>[], domRestricted: boolean, dowRestricted: boolean) {
    this.#allowed = allowed;
    this.#domRestricted = domRestricted;
    this.#dowRestricted = dowRestricted;
  }

  /** Parses `text`; throws ConfigError naming `variable` and the bad field. */
  static parse(text: string, variable: string): CronExpression {
    const parts = text.trim().split(/\s+/);
    if (parts.length !== 5) {
      throw new ConfigError(
        `${variable}: a cron expression has 5 fields (minute hour day month weekday), ` +
          `got ${JSON.stringify(text)}`,
      );
    }
    const allowed = parts.map((part, i) => parseField(part, FIELDS[i], FIELD_NAMES[i], variable));
    // 7 is Sunday too.
    if (allowed[4].delete(7)) allowed[4].add(0);
    return new CronExpression(allowed, parts[2] !== "*", parts[4] !== "*");
  }

  /** Whether the minute starting at `date` (UTC) matches. */
  matches(date: Date): boolean {
    const [minute, hour, , month] = this.#allowed;
    if (!minute.has(date.getUTCMinutes()) || !hour.has(date.getUTCHours())) return false;
    return month.has(date.getUTCMonth() + 1) && this.#dayMatches(date);
  }

  /** The first matching minute strictly after `after`; undefined if none within 5 years. */
  next(after: Date): Date | undefined {
    const t = new Date(after.getTime());
    t.setUTCSeconds(0, 0);
    t.setUTCMinutes(t.getUTCMinutes() + 1);
    const limit = after.getTime() + 5 * 366 * 86_400_000;
    while (t.getTime() <= limit) {
      if (!this.#allowed[3].has(t.getUTCMonth() + 1)) {
        t.setUTCMonth(t.getUTCMonth() + 1, 1);
        t.setUTCHours(0, 0);
      } else if (!this.#dayMatches(t)) {
        t.setUTCDate(t.getUTCDate() + 1);
        t.setUTCHours(0, 0);
      } else if (!this.#allowed[1].has(t.getUTCHours())) {
        t.setUTCHours(t.getUTCHours() + 1, 0);
      } else if (!this.#allowed[0].has(t.getUTCMinutes())) {
        t.setUTCMinutes(t.getUTCMinutes() + 1);
      } else {
        return t;
      }
    }
    return undefined;
  }

  #dayMatches(date: Date): boolean {
    const domOk = this.#allowed[2].has(date.getUTCDate());
    const dowOk = this.#allowed[4].has(date.getUTCDay());
    if (this.#domRestricted && this.#dowRestricted) return domOk || dowOk;
    return domOk && dowOk;
  }
}

function parseField(part: string, field: Field, name: string, variable: string): Set<number> {
  const bad = (why: string) =>
    new ConfigError(`${variable}: ${name} field ${JSON.stringify(part)}: ${why}`);
  const value = (text: string): number => {
    const index = field.names?.indexOf(text.toLowerCase()) ?? -1;
    if (index >= 0) return index + field.min;
    if (!/^\d+$/.test(text)) throw bad(`${JSON.stringify(text)} is not a number`);
    const n = Number(text);
    if (n < field.min || n > field.max) {
      throw bad(`${n} is outside ${field.min}-${field.max}`);
    }
    return n;
  };
  const set = new Set<number>();
  for (const item of part.split(",")) {
    const [range, stepText, extra] = item.split("/");
    if (extra !== undefined || range === "") throw bad("malformed");
    const step = stepText === undefined ? 1 : Number(stepText);
    if (!Number.isInteger(step) || step < 1) throw bad(`step ${JSON.stringify(stepText)}`);
    let from: number, to: number;
    if (range === "*") [from, to] = [field.min, field.max];
    else if (range.includes("-")) {
      const [a, b] = range.split("-");
      [from, to] = [value(a), value(b)];
      if (from > to) throw bad(`${from}-${to} runs backwards`);
    } else {
      from = value(range);
      to = stepText === undefined ? from : field.max;
    }
    for (let n = from; n <= to; n += step) set.add(n);
  }
  return set;
}
