/**
 * backupy-decrypt as a user runs it: a child process with file permissions
 * only. Every failure exits 1 and leaves no output file (and no temporary
 * file); an existing --out is untouched.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "../support/assert.ts";
import {
  compress,
  encryptV1,
  makeBackup,
  makeToken,
  seededBytes,
  sha256Hex,
  TEST_DEK,
  tokenClaims,
} from "../support/v1_fixtures.ts";
import { decryptArgv, type Finished, runDecrypt } from "../support/programs.ts";
import { join } from "node:path";

const vectors = new URL("../fixtures/v1/", import.meta.url);
const kat1Jwt = new URL("kat1.jwt", vectors).pathname;
const kat1Enc = new URL("kat1.enc", vectors).pathname;
const kat1Plain = new URL("kat1.plain", vectors).pathname;

const sqlDump = new TextEncoder().encode("-- PostgreSQL database dump\nSELECT 1;\n".repeat(30_000));

const tempDirs: string[] = [];
globalThis.addEventListener("unload", () => {
  for (const dir of tempDirs) Deno.removeSync(dir, { recursive: true });
});

async function tempDir(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "backupy-decrypt-e2e-" });
  tempDirs.push(dir);
  return dir;
}

/** Files in `dir` (to prove nothing, not even a temporary file, was left). */
async function listDir(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(dir)) names.push(entry.name);
  return names.sort();
}

function assertFailed(result: Finished, code: number, message: string) {
  assertEquals(result.code, code, result.stderr);
  assertStringIncludes(result.stderr, message);
}

Deno.test("decrypts the shared vector with its token to a file", async () => {
  const dir = await tempDir();
  const out = join(dir, "kat1.out");
  const result = await runDecrypt([
    "--token",
    await Deno.readTextFile(kat1Jwt),
    "--in",
    kat1Enc,
    "--out",
    out,
  ]);
  assertEquals(result.code, 0, result.stderr);
  assertEquals(await Deno.readFile(out), await Deno.readFile(kat1Plain));
  assertStringIncludes(result.stderr, `OK: decrypted 24 bytes (run `);
  assertStringIncludes(result.stderr, `) to ${out}`);
  assertEquals((await Deno.stat(out)).mode! & 0o777, 0o600);
  assertEquals(await listDir(dir), ["kat1.out"]);
});

Deno.test("--out naming a named pipe writes into it and leaves it a pipe (as /dev/null stays a device)", async () => {
  const dir = await tempDir();
  const fifo = join(dir, "pipe");
  const made = await new Deno.Command("mkfifo", { args: [fifo] }).output();
  assert(made.success);
  const backup = await makeBackup(sqlDump);
  const input = join(dir, "in.enc");
  await Deno.writeFile(input, backup.enc);
  // A reader on the pipe (given up after 20 s: renamed over, the pipe would get no writer).
  const reader = new Deno.Command("timeout", { args: ["20", "cat", fifo], stdout: "piped" })
    .output();
  const [command, args] = decryptArgv(["--token", backup.token, "--in", input, "--out", fifo]);
  const result = await new Deno.Command(command, {
    args,
    stderr: "piped",
    signal: AbortSignal.timeout(30_000),
  }).output();
  assertEquals(result.code, 0, new TextDecoder().decode(result.stderr));
  assertEquals((await reader).stdout, sqlDump);
  assert((await Deno.lstat(fifo)).isFifo, "still a named pipe");
  assertEquals(await listDir(dir), ["in.enc", "pipe"], "no temporary file beside it");
});

Deno.test("--token-file with trailing whitespace, stdin to stdout", async () => {
  const dir = await tempDir();
  const tokenFile = join(dir, "token");
  await Deno.writeTextFile(tokenFile, (await Deno.readTextFile(kat1Jwt)).trim() + " \n\n");
  const result = await runDecrypt(["--token-file", tokenFile, "--out", "-", "--quiet"], {
    stdin: await Deno.readFile(kat1Enc),
  });
  assertEquals(result.code, 0, result.stderr);
  assertEquals(result.stdout, await Deno.readFile(kat1Plain));
  assertEquals(result.stderr, "");
});

Deno.test("Go-style single-dash flags work", async () => {
  const dir = await tempDir();
  const out = join(dir, "out");
  const result = await runDecrypt(["-token-file", kat1Jwt, "-in", kat1Enc, "-out", out, "-quiet"]);
  assertEquals(result.code, 0, result.stderr);
  assertEquals(await Deno.readFile(out), await Deno.readFile(kat1Plain));
});

for (const compression of ["zstd", "gzip"] as const) {
  Deno.test(`a ${compression} backup of several frames decrypts to the original`, async () => {
    const dir = await tempDir();
    const plain = new Uint8Array([...sqlDump, ...seededBytes(3_000_000, 11)]);
    const backup = await makeBackup(plain, compression);
    await Deno.writeFile(join(dir, "b.enc"), backup.enc);
    const result = await runDecrypt([
      "--token",
      backup.token,
      "--in",
      join(dir, "b.enc"),
      "--out",
      join(dir, "b.out"),
    ]);
    assertEquals(result.code, 0, result.stderr);
    assertEquals(sha256Hex(await Deno.readFile(join(dir, "b.out"))), sha256Hex(plain));
  });
}

Deno.test("--key-file in hex, raw and base64 with --sha256", async () => {
  const dir = await tempDir();
  const enc = await encryptV1(compress(sqlDump, "zstd"));
  await Deno.writeFile(join(dir, "b.enc"), enc);
  const forms: Array<[string, Uint8Array | string]> = [
    ["hex", TEST_DEK.toHex() + "\n"],
    ["raw", TEST_DEK],
    ["base64", TEST_DEK.toBase64()],
  ];
  for (const [name, content] of forms) {
    const keyFile = join(dir, `key.${name}`);
    if (typeof content === "string") await Deno.writeTextFile(keyFile, content);
    else await Deno.writeFile(keyFile, content);
    const out = join(dir, `out.${name}`);
    const result = await runDecrypt([
      "--key-file",
      keyFile,
      "--sha256",
      sha256Hex(enc),
      "--in",
      join(dir, "b.enc"),
      "--out",
      out,
    ]);
    assertEquals(result.code, 0, `${name}: ${result.stderr}`);
    assertEquals(await Deno.readFile(out), sqlDump);
    assertEquals(result.stderr.includes("warning"), false);
  }
});

Deno.test("--key-file without --sha256 works but warns", async () => {
  const dir = await tempDir();
  await Deno.writeTextFile(join(dir, "key"), TEST_DEK.toHex());
  await Deno.writeFile(join(dir, "b.enc"), await encryptV1(compress(sqlDump, "zstd")));
  const result = await runDecrypt([
    "--key-file",
    join(dir, "key"),
    "--in",
    join(dir, "b.enc"),
    "--out",
    join(dir, "o"),
  ]);
  assertEquals(result.code, 0, result.stderr);
  assertStringIncludes(result.stderr, "warning: no SHA-256 to check");
});

Deno.test("a bad key file is a clear error that echoes nothing of it", async () => {
  const dir = await tempDir();
  await Deno.writeTextFile(join(dir, "key"), "not-a-key-secretvalue");
  const result = await runDecrypt([
    "--key-file",
    join(dir, "key"),
    "--in",
    kat1Enc,
    "--out",
    join(dir, "o"),
  ]);
  assertFailed(result, 1, "key file is not a DEK");
  assertEquals(result.stderr.includes("secretvalue"), false);
  assertEquals(await listDir(dir), ["key"]);
});

Deno.test("verify writes nothing and reports what it checked", async () => {
  const result = await runDecrypt(["verify", "--token-file", kat1Jwt, "--in", kat1Enc]);
  assertEquals(result.code, 0, result.stderr);
  assertStringIncludes(result.stderr, "OK: verified 63 bytes in 1 frames");
  assertStringIncludes(result.stderr, "(matches)");
  assertStringIncludes(result.stderr, "compression zstd");
  assertEquals(result.stdout.length, 0);
});

Deno.test("inspect without a key shows the structure, with a key authenticates", async () => {
  const plain = await runDecrypt(["inspect", "--in", kat1Enc]);
  assertEquals(plain.code, 0, plain.stderr);
  const text = new TextDecoder().decode(plain.stdout);
  assertMatch(text, /frames:\s+1 \(frame lengths 55\.\.55\)/);
  assertMatch(text, /terminator:\s+present/);
  assertMatch(text, /trailing bytes:\s+0/);
  const keyed = await runDecrypt(["inspect", "--token-file", kat1Jwt, "--in", kat1Enc]);
  const keyedText = new TextDecoder().decode(keyed.stdout);
  assertMatch(keyedText, /authenticated:\s+1 of 1 frames/);
  assertMatch(keyedText, /compression:\s+zstd/);

  const withTrailing = new Uint8Array([...await Deno.readFile(kat1Enc), 1, 2, 3]);
  const bad = await runDecrypt(["inspect"], { stdin: withTrailing });
  assertEquals(bad.code, 1);
  assertMatch(new TextDecoder().decode(bad.stdout), /trailing bytes:\s+3/);
});

// ---- failures: exit 1, nothing written, an existing --out untouched -------

/** Runs a failing decrypt into a directory that already has an `out` file. */
async function failingDecrypt(
  enc: Uint8Array,
  args: string[],
  message: string,
): Promise<Finished> {
  const dir = await tempDir();
  await Deno.writeFile(join(dir, "in.enc"), enc);
  await Deno.writeTextFile(join(dir, "out"), "precious existing content");
  const result = await runDecrypt([
    "--in",
    join(dir, "in.enc"),
    "--out",
    join(dir, "out"),
    ...args,
  ]);
  assertFailed(result, 1, message);
  assertEquals(await Deno.readTextFile(join(dir, "out")), "precious existing content");
  assertEquals(await listDir(dir), ["in.enc", "out"]);
  return result;
}

const good = makeBackup(sqlDump, "zstd");
const twoFrameBackup = makeBackup(seededBytes(1_500_000, 5), "none");

Deno.test("failure: wrong key", async () => {
  const { enc, sha256 } = await good;
  const token = makeToken(tokenClaims({ sha256, dek: new Uint8Array(32).fill(9).toBase64() }));
  await failingDecrypt(
    enc,
    ["--token", token],
    "AES-GCM authentication failed in frame 0 at offset 0",
  );
});

Deno.test("failure: bit flip in the second frame", async () => {
  const { enc, token } = await twoFrameBackup;
  const bad = enc.slice();
  bad[1_048_608 + 50] ^= 1;
  await failingDecrypt(bad, ["--token", token, "--skip-decompress"], "frame 1 at offset 1048608");
});

Deno.test("failure: truncated file (no terminator), and partial frame", async () => {
  const { enc, token } = await twoFrameBackup;
  await failingDecrypt(
    enc.subarray(0, enc.length - 4),
    ["--token", token, "--skip-decompress"],
    "no end-of-stream marker after frame 1",
  );
  await failingDecrypt(
    enc.subarray(0, 1000),
    ["--token", token, "--skip-decompress"],
    "file is truncated in frame 0",
  );
});

Deno.test("failure: trailing bytes", async () => {
  const { enc, token } = await good;
  await failingDecrypt(
    new Uint8Array([...enc, 0]),
    ["--token", token],
    "after the end-of-stream marker",
  );
});

Deno.test("failure: SHA-256 mismatch (a forged terminator after frame 0)", async () => {
  const { enc, token } = await twoFrameBackup;
  const forged = new Uint8Array([...enc.subarray(0, 1_048_608), 0, 0, 0, 0]);
  await failingDecrypt(
    forged,
    ["--token", token, "--skip-decompress"],
    "SHA-256 of the encrypted file is",
  );
});

Deno.test("failure on stdout: the message says to discard what was written", async () => {
  const { enc, token } = await twoFrameBackup;
  const forged = new Uint8Array([...enc.subarray(0, 1_048_608), 0, 0, 0, 0]);
  const result = await runDecrypt(["--token", token, "--out", "-", "--skip-decompress"], {
    stdin: forged,
  });
  assertFailed(result, 1, "not trustworthy: discard it");
});

Deno.test("failure: expired token, then --allow-expired", async () => {
  const { enc, sha256 } = await good;
  const token = makeToken(tokenClaims({ sha256, exp: Math.floor(Date.now() / 1000) - 3600 }));
  await failingDecrypt(enc, ["--token", token], "--allow-expired");
  const dir = await tempDir();
  await Deno.writeFile(join(dir, "in"), enc);
  const ok = await runDecrypt([
    "--token",
    token,
    "--allow-expired",
    "--in",
    join(dir, "in"),
    "--out",
    join(dir, "o"),
  ]);
  assertEquals(ok.code, 0, ok.stderr);
  assertStringIncludes(ok.stderr, "warning: using an expired token");
  assertEquals(await Deno.readFile(join(dir, "o")), sqlDump);
});

Deno.test("failure: token claims (iss, format_version 2, 31-byte DEK)", async () => {
  const { enc, sha256 } = await good;
  await failingDecrypt(
    enc,
    ["--token", makeToken(tokenClaims({ sha256, iss: "x" }))],
    "token issuer",
  );
  await failingDecrypt(
    enc,
    ["--token", makeToken(tokenClaims({ format_version: 2 }))],
    "format_version is 2",
  );
  await failingDecrypt(
    enc,
    ["--token", makeToken(tokenClaims({ dek: new Uint8Array(31).toBase64() }))],
    "must be 32 bytes",
  );
});

Deno.test("failure: plaintext that is not compressed fails fast, --skip-decompress works", async () => {
  const { enc, token } = await makeBackup(sqlDump, "none");
  await failingDecrypt(enc, ["--token", token], "--skip-decompress");
  const dir = await tempDir();
  await Deno.writeFile(join(dir, "in"), enc);
  const ok = await runDecrypt([
    "--token",
    token,
    "--skip-decompress",
    "--in",
    join(dir, "in"),
    "--out",
    join(dir, "o"),
  ]);
  assertEquals(ok.code, 0, ok.stderr);
  assertEquals(await Deno.readFile(join(dir, "o")), sqlDump);
});

Deno.test("failure: truncated zstd inside a valid v1 file", async () => {
  const packed = compress(sqlDump, "zstd");
  const enc = await encryptV1(packed.subarray(0, packed.length - 3));
  const token = makeToken(tokenClaims({ sha256: sha256Hex(enc) }));
  await failingDecrypt(enc, ["--token", token], "compressed stream is truncated");
});

Deno.test("failure: a missing input file", async () => {
  const dir = await tempDir();
  const result = await runDecrypt([
    "--token-file",
    kat1Jwt,
    "--in",
    join(dir, "nope"),
    "--out",
    join(dir, "o"),
  ]);
  assertFailed(result, 1, "cannot open input");
  assertEquals(await listDir(dir), []);
});

// ---- flags -----------------------------------------------------------------

Deno.test("--verify-sha256=false, --no-verify-sha256 and --verify-sha256 false all turn it off", async () => {
  const { enc } = await good;
  // The token's SHA-256 is wrong on purpose: only an off switch lets this pass.
  const token = makeToken(tokenClaims({ sha256: "0".repeat(64) }));
  for (
    const spelling of [["--verify-sha256=false"], ["--no-verify-sha256"], [
      "--verify-sha256",
      "false",
    ]]
  ) {
    const dir = await tempDir();
    await Deno.writeFile(join(dir, "in"), enc);
    // The flags after the spelling must still be parsed (Go stopped at "false").
    const result = await runDecrypt([
      "--token",
      token,
      ...spelling,
      "--in",
      join(dir, "in"),
      "--out",
      join(dir, "o"),
    ]);
    assertEquals(result.code, 0, `${spelling.join(" ")}: ${result.stderr}`);
    assertStringIncludes(result.stderr, "warning: SHA-256 verification is off");
    assertEquals(await Deno.readFile(join(dir, "o")), sqlDump);
  }
  await failingDecrypt(
    enc,
    ["--token", token, "--verify-sha256", "true"],
    "SHA-256 of the encrypted file",
  );
});

Deno.test("usage errors exit 2 with a hint", async () => {
  const cases: Array<[string[], string]> = [
    [["--bogus"], "Unknown option '--bogus'"],
    [["--in", kat1Enc, "--out", "/tmp/x"], "a key is needed"],
    [["--token", "a.b.c", "--key-file", "k", "--out", "-"], "give only one of"],
    [["--token-file", kat1Jwt, "--in", kat1Enc], "--out is required"],
    [["verify", "--token-file", kat1Jwt, "--out", "x"], "verify writes nothing"],
    [["--token-file", kat1Jwt, "--out", "-", "extra"], 'unexpected argument "extra"'],
    [["--verify-sha256=maybe"], "--verify-sha256 takes true or false"],
    [["--key-file", "k", "--sha256", "xyz", "--out", "-"], "--sha256 must be 64 hex characters"],
  ];
  for (const [args, message] of cases) {
    const result = await runDecrypt(args);
    assertFailed(result, 2, message);
    assertStringIncludes(result.stderr, "--help");
  }
});

Deno.test("--in and --out naming the same file is refused before anything is written", async () => {
  const dir = await tempDir();
  const path = join(dir, "backup.enc");
  const enc = await Deno.readFile(kat1Enc);
  await Deno.writeFile(path, enc);
  await Deno.symlink(path, join(dir, "alias"));
  for (const out of [path, join(dir, "alias"), `${dir}/./backup.enc`]) {
    const result = await runDecrypt(["--token-file", kat1Jwt, "--in", path, "--out", out]);
    assertFailed(result, 2, "--in and --out name the same file");
    assertEquals(await Deno.readFile(path), enc);
  }
  assertEquals(await listDir(dir), ["alias", "backup.enc"]);
});

Deno.test("--version and --help", async () => {
  const version = await runDecrypt(["--version"]);
  assertEquals(version.code, 0);
  assertMatch(new TextDecoder().decode(version.stdout), /^backupy-decrypt \d+\.\d+\.\d+/);
  const help = await runDecrypt(["--help"]);
  assertEquals(help.code, 0);
  const text = new TextDecoder().decode(help.stdout);
  for (
    const flag of [
      "--token",
      "--token-file",
      "--key-file",
      "--sha256",
      "--in",
      "--out",
      "--verify-sha256",
      "--skip-decompress",
      "--allow-expired",
      "--quiet",
      "--version",
      "verify",
      "inspect",
    ]
  ) {
    assertStringIncludes(text, flag);
  }
  assertStringIncludes(text, "signature cannot be checked offline");
});

// ---- signals ---------------------------------------------------------------

for (const [signal, code] of [["SIGTERM", 143], ["SIGINT", 130]] as const) {
  Deno.test(`${signal} aborts promptly, removes the temporary file, exits ${code}`, async () => {
    const dir = await tempDir();
    const { enc, token } = await twoFrameBackup;
    const [command, args] = decryptArgv([
      "--token",
      token,
      "--out",
      join(dir, "o"),
      "--skip-decompress",
    ]);
    const child = new Deno.Command(command, {
      args,
      stdin: "piped",
      stdout: "null",
      stderr: "piped",
    })
      .spawn();
    const writer = child.stdin.getWriter();
    // Half the file, then silence: the program waits for more input.
    await writer.write(enc.subarray(0, 600_000));
    // Wait until the temporary file exists: the program is mid-run.
    for (let i = 0; i < 100 && (await listDir(dir)).length === 0; i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    assertEquals((await listDir(dir)).length, 1, "a temporary file while running");
    child.kill(signal);
    const status = await child.status;
    await writer.close().catch(() => {});
    const stderr = new TextDecoder().decode(await new Response(child.stderr).bytes());
    assertEquals(status.code, code, stderr);
    assertStringIncludes(stderr, `interrupted by ${signal}`);
    assertEquals(await listDir(dir), []);
  });
}

Deno.test("no progress line when stderr is not a terminal", async () => {
  const { enc, token } = await good;
  const result = await runDecrypt(["verify", "--token", token], { stdin: enc });
  assertEquals(result.code, 0);
  assert(!result.stderr.includes("\r"), "no carriage returns in piped stderr");
});

Deno.test("a progress line on a terminal, read from a pipe given as --in", async () => {
  const dir = await tempDir();
  const { enc, token } = await twoFrameBackup;
  const fifo = join(dir, "in.fifo");
  const mkfifo = await new Deno.Command("mkfifo", { args: [fifo] }).output();
  assertEquals(mkfifo.code, 0);
  const [command, args] = decryptArgv([
    "--token",
    token,
    "--skip-decompress",
    "--in",
    fifo,
    "--out",
    join(dir, "o"),
  ]);
  const quoted = [command, ...args].map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(" ");
  // script(1) gives the program a terminal; what it draws comes out on script's stdout.
  const child = new Deno.Command("script", {
    args: ["-qefc", quoted, "/dev/null"],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = await Deno.open(fifo, { write: true });
  await writer.write(enc.subarray(0, 700_000));
  await new Promise((r) => setTimeout(r, 800)); // long enough for a few redraws
  for (let at = 700_000; at < enc.length;) at += await writer.write(enc.subarray(at));
  writer.close();
  const output = await child.output();
  const screen = new TextDecoder().decode(output.stdout);
  assertEquals(output.code, 0, screen);
  assertMatch(screen, /\r.*\d+\.\d MiB\s+\d+\.\d MB\/s/);
  assertStringIncludes(screen, "OK: decrypted 1500000 bytes (run run-test-1)");
});

Deno.test("--json: one result object on stdout for decrypt and verify, and for a failure", async () => {
  const dir = await tempDir();
  const token = await Deno.readTextFile(kat1Jwt);
  const out = join(dir, "kat1.out");
  const decrypted = await runDecrypt(["--token", token, "--in", kat1Enc, "--out", out, "--json"]);
  assertEquals(decrypted.code, 0, decrypted.stderr);
  assertEquals(decrypted.stderr, "");
  const result = JSON.parse(new TextDecoder().decode(decrypted.stdout));
  assertEquals([result.ok, result.mode, result.out, result.output_bytes], [
    true,
    "decrypt",
    out,
    24,
  ]);
  assertEquals(result.sha256_checked, true);
  assertMatch(result.sha256, /^[0-9a-f]{64}$/);
  assert(typeof result.run_id === "string" && result.duration_ms >= 0);

  const verified = await runDecrypt(["verify", "--token", token, "--in", kat1Enc, "--json"]);
  assertEquals(verified.code, 0, verified.stderr);
  const verify = JSON.parse(new TextDecoder().decode(verified.stdout));
  assertEquals([verify.ok, verify.mode, verify.out], [true, "verify", undefined]);

  const wrong = makeToken(tokenClaims({ dek: new Uint8Array(32).fill(9).toBase64() }));
  const failed = await runDecrypt([
    "--token",
    wrong,
    "--in",
    kat1Enc,
    "--out",
    join(dir, "x"),
    "--json",
  ]);
  assertEquals(failed.code, 1);
  const failure = JSON.parse(new TextDecoder().decode(failed.stdout));
  assertEquals(failure.ok, false);
  assertStringIncludes(failure.error, "AES-GCM authentication failed");
  assertEquals(
    (await runDecrypt(["--token", token, "--in", kat1Enc, "--out", "-", "--json"])).code,
    2,
  );
});
