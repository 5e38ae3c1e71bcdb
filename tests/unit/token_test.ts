/** Token claims exactly as docs/backup-format.md section 4's table. */
import { assertEquals, assertThrows } from "../support/assert.ts";
import { makeToken, TEST_DEK, tokenClaims } from "../support/v1_fixtures.ts";
import { checkTokenExpiry, parseToken } from "../../decrypt/token.ts";
import { TokenError } from "../../decrypt/errors.ts";

const kat1 = new URL("../fixtures/v1/kat1.jwt", import.meta.url);

Deno.test("the shared kat1 token parses", async () => {
  const token = parseToken(await Deno.readTextFile(kat1));
  assertEquals(token.dek.reveal(), TEST_DEK);
  assertEquals(token.sha256, "55ab3fda36916928acd87a826743651d657aee83818ed6a2665270fd363e72c3");
  assert2100(token.expiresAt);
});

function assert2100(date: Date) {
  assertEquals(date.getUTCFullYear() >= 2100, true);
}

Deno.test("a valid token yields its claims; the DEK prints redacted", () => {
  const token = parseToken(makeToken(tokenClaims({ sha256: "AB".repeat(32) })));
  assertEquals(token.runId, "run-test-1");
  assertEquals(token.subject, "user-1");
  assertEquals(token.companyId, "company-1");
  assertEquals(token.sha256, "ab".repeat(32));
  assertEquals(`${token.dek}`, "<redacted>");
  assertEquals(JSON.stringify(token).includes(TEST_DEK.toBase64()), false);
});

Deno.test("padded payload, aud as an array, alg in any case, unpadded and url-safe dek", () => {
  const dekUrl = TEST_DEK.toBase64({ alphabet: "base64url", omitPadding: true });
  const token = parseToken(
    makeToken(tokenClaims({ aud: ["other", "backupy-decrypt"], alg: "aes-256-gcm", dek: dekUrl }), {
      padded: true,
    }),
  );
  assertEquals(token.dek.reveal(), TEST_DEK);
});

const rejected: Array<[string, Record<string, unknown>, string]> = [
  [
    "wrong iss",
    { iss: "someone-else" },
    'token issuer is "someone-else", expected "backupy-server"',
  ],
  ["missing iss", { iss: undefined }, "token issuer is null"],
  ["wrong aud", { aud: "backupy-web" }, 'token audience is "backupy-web"'],
  ["aud array without us", { aud: ["a", "b"] }, 'token audience is ["a","b"]'],
  ["no exp", { exp: undefined }, "token has no exp claim"],
  ["exp as a string", { exp: "soon" }, "token has no exp claim"],
  ["no sub", { sub: "" }, "token has no sub claim"],
  ["no run_id", { run_id: undefined }, "token has no run_id claim"],
  ["no company_id", { company_id: 5 }, "token has no company_id claim"],
  [
    "format_version 2",
    { format_version: 2 },
    "token format_version is 2, expected 1: this backupy-decrypt reads format 1 only",
  ],
  ["format_version 1.5", { format_version: 1.5 }, "token format_version is 1.5, expected 1"],
  ["format_version as a string", { format_version: "1" }, 'token format_version is "1"'],
  ["wrong alg", { alg: "AES-128-GCM" }, 'token alg is "AES-128-GCM"'],
  [
    "dek of 31 bytes",
    { dek: new Uint8Array(31).toBase64() },
    "token dek must be 32 bytes for AES-256-GCM, got 31",
  ],
  [
    "dek of 33 bytes",
    { dek: new Uint8Array(33).toBase64() },
    "token dek must be 32 bytes for AES-256-GCM, got 33",
  ],
  ["dek not base64", { dek: "!!not base64!!" }, "token dek is not valid base64"],
  ["no dek", { dek: undefined }, "token has no dek claim"],
  ["bad sha256", { sha256: "abc" }, "token sha256 claim is not 64 hex characters"],
];

for (const [label, overrides, message] of rejected) {
  Deno.test(`token rejected: ${label}`, () => {
    const error = assertThrows(
      () => parseToken(makeToken(tokenClaims(overrides))),
      TokenError,
      message,
    );
    // No message ever carries the key.
    assertEquals(error.message.includes(TEST_DEK.toBase64()), false);
  });
}

Deno.test("not a JWT at all", () => {
  assertThrows(() => parseToken("abc"), TokenError, "expected three dot-separated parts");
  assertThrows(() => parseToken("a.%%%.c"), TokenError, "not base64url-encoded JSON");
  assertThrows(() => parseToken(`a.${btoa("[1]")}.c`), TokenError, "not a JSON object");
});

Deno.test("expiry: 60 s leeway, then an error that offers --allow-expired", () => {
  const token = parseToken(makeToken(tokenClaims({ exp: 1_700_000_000 })));
  const at = (seconds: number) => new Date(seconds * 1000);
  checkTokenExpiry(token, at(1_700_000_060), false); // within the leeway
  const error = assertThrows(
    () => checkTokenExpiry(token, at(1_700_000_061 + 3600), false),
    TokenError,
    "token expired at 2023-11-14T22:13:20.000Z (61 min ago)",
  );
  assertEquals(error.message.includes("--allow-expired"), true);
  checkTokenExpiry(token, at(1_800_000_000), true); // allowed: no error
});
