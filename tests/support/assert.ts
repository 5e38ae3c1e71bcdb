/**
 * Assertions for the tests, on `node:assert` (JSR's `@std/assert` is not
 * reachable from our machines). Names follow `@std/assert` so they read the
 * same as most Deno code.
 */
import nodeAssert from "node:assert/strict";

/** Fails unless `actual` deep-equals `expected`. */
export function assertEquals<T>(actual: T, expected: T, message?: string): void {
  if (message === undefined) nodeAssert.deepStrictEqual(actual, expected);
  else nodeAssert.deepStrictEqual(actual, expected, message);
}

/** The lines of `a` that `b` lacks, counting repeats. */
function linesWithout(a: readonly string[], b: readonly string[]): string[] {
  const left = new Map<string, number>();
  for (const line of b) left.set(line, (left.get(line) ?? 0) + 1);
  return a.filter((line) => {
    const n = left.get(line) ?? 0;
    if (n > 0) left.set(line, n - 1);
    return n === 0;
  });
}

/**
 * Fails unless `actual` and `expected` hold the same lines as multisets
 * (order ignored, repeats counted), naming the missing and the extra ones.
 */
export function assertSameLines(
  actual: readonly string[],
  expected: readonly string[],
  message?: string,
): void {
  assertEquals(
    { missing: linesWithout(expected, actual), extra: linesWithout(actual, expected) },
    { missing: [], extra: [] },
    message,
  );
}

/** Fails when `actual` deep-equals `expected`. */
export function assertNotEquals<T>(actual: T, expected: T, message?: string): void {
  if (message === undefined) nodeAssert.notDeepStrictEqual(actual, expected);
  else nodeAssert.notDeepStrictEqual(actual, expected, message);
}

/** Fails unless `condition` is truthy. */
export function assert(condition: unknown, message?: string): asserts condition {
  if (message === undefined) nodeAssert.ok(condition);
  else nodeAssert.ok(condition, message);
}

/** Fails unless `text` contains `part`. */
export function assertStringIncludes(text: string, part: string, message?: string): void {
  if (!text.includes(part)) {
    throw new nodeAssert.AssertionError({
      message: message ??
        `expected ${
          JSON.stringify(text.length > 2000 ? `${text.slice(0, 2000)}...` : text)
        } to include ${JSON.stringify(part)}`,
    });
  }
}

/** Fails unless `text` matches `pattern`. */
export function assertMatch(text: string, pattern: RegExp, message?: string): void {
  if (message === undefined) nodeAssert.match(text, pattern);
  else nodeAssert.match(text, pattern, message);
}

type ErrorClass<E extends Error> = abstract new (...args: never[]) => E;

function checkError<E extends Error>(
  error: unknown,
  errorClass?: ErrorClass<E>,
  messageIncludes?: string,
): E {
  if (!(error instanceof Error)) throw new nodeAssert.AssertionError({ message: "not an Error" });
  if (errorClass && !(error instanceof errorClass)) {
    throw new nodeAssert.AssertionError({
      message: `expected ${errorClass.name}, got ${error.constructor.name}: ${error.message}`,
    });
  }
  if (messageIncludes !== undefined) assertStringIncludes(error.message, messageIncludes);
  return error as E;
}

/** Fails unless `fn` throws (an `errorClass`, whose message includes the text). */
export function assertThrows<E extends Error = Error>(
  fn: () => unknown,
  errorClass?: ErrorClass<E>,
  messageIncludes?: string,
): E {
  try {
    fn();
  } catch (error) {
    return checkError(error, errorClass, messageIncludes);
  }
  throw new nodeAssert.AssertionError({ message: "expected the function to throw" });
}

/** Fails unless `fn` rejects (with an `errorClass`, whose message includes the text). */
export async function assertRejects<E extends Error = Error>(
  fn: () => PromiseLike<unknown>,
  errorClass?: ErrorClass<E>,
  messageIncludes?: string,
): Promise<E> {
  try {
    await fn();
  } catch (error) {
    return checkError(error, errorClass, messageIncludes);
  }
  throw new nodeAssert.AssertionError({ message: "expected the promise to reject" });
}
