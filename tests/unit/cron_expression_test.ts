/** Cron expressions (UTC): parsing errors name the field; next() agrees with a minute-by-minute scan. */
import { assertEquals, assertThrows } from "../support/assert.ts";
import { CronExpression } from "../../agent/config/cron_expression.ts";
import { ConfigError } from "../../agent/config/config_error.ts";

/** The first matching minute after `from`, by looking at every minute. */
function scan(cron: CronExpression, from: Date): Date {
  const t = new Date(from.getTime());
  t.setUTCSeconds(0, 0);
  for (;;) {
    t.setUTCMinutes(t.getUTCMinutes() + 1);
    if (cron.matches(t)) return t;
  }
}

Deno.test("cron: next() equals the minute-by-minute answer", () => {
  const expressions = [
    "30 4 * * sun",
    "*/15 * * * *",
    "0 0 1 * *",
    "0 12 1 * mon",
    "5,35 8-18/2 * jan-mar,nov 1-5",
    "0 3 31 * *",
    "59 23 * * 7",
  ];
  const starts = ["2026-11-26T13:07:10Z", "2026-12-31T23:59:59Z", "2027-02-27T00:00:00Z"];
  for (const text of expressions) {
    const cron = CronExpression.parse(text, "X");
    for (const start of starts) {
      const from = new Date(start);
      assertEquals(cron.next(from)?.toISOString(), scan(cron, from).toISOString(), text);
    }
  }
  // 29 February: years away, still found.
  assertEquals(
    CronExpression.parse("0 0 29 2 *", "X").next(new Date("2026-11-26T00:00:00Z"))?.toISOString(),
    "2028-02-29T00:00:00.000Z",
  );
  // A date that never comes.
  assertEquals(CronExpression.parse("0 0 31 2 *", "X").next(new Date()), undefined);
});

Deno.test("cron: bad expressions are refused naming the variable and field", () => {
  const bad: [string, RegExp][] = [
    ["* * * *", /5 fields/],
    ["60 * * * *", /minute field "60": 60 is outside 0-59/],
    ["* 5-2 * * *", /hour field "5-2": 5-2 runs backwards/],
    ["* * * foo *", /month field "foo": "foo" is not a number/],
    ["*/0 * * * *", /step "0"/],
  ];
  for (const [text, message] of bad) {
    const error = assertThrows(() => CronExpression.parse(text, "BACKUPY_VERIFY_RESTORE_CRON"));
    if (!(error instanceof ConfigError)) throw error;
    if (!message.test(error.message) || !error.message.startsWith("BACKUPY_VERIFY_RESTORE_CRON")) {
      throw new Error(`${text}: ${error.message}`);
    }
  }
});
