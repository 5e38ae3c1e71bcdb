/**
 * How the native PostgreSQL engine reaches a server: every sslmode against
 * a throwaway cluster that refuses TCP without TLS (certificates from
 * tests/services.sh), and a UNIX socket directory.
 */
import { assertEquals, assertStringIncludes } from "../support/assert.ts";
import { join } from "node:path";
import { tempDir } from "../support/agent_fixtures.ts";
import { runAgent } from "../support/programs.ts";
import { TempPgCluster } from "../support/pg_cluster.ts";

const TLS = Deno.env.get("BACKUPY_TEST_TLS_DIR") ?? "/var/lib/backupy-test-tls";

async function backup(url: string, dir: string, name: string) {
  return await runAgent([
    "backup",
    "--target",
    url,
    "--out",
    join(dir, `${name}.enc`),
    "--generate-key",
    join(dir, `${name}.key`),
  ]);
}

Deno.test("sslmode: disable is refused by a TLS-only server; prefer, require, verify-ca and verify-full connect; a wrong or missing CA fails", async () => {
  await using cluster = await TempPgCluster.start({ tlsDir: TLS });
  await using dir = await tempDir("backupy-pg-tls-");
  const at = (host: string, query: string) =>
    `postgres://postgres@${host}:${cluster.port}/postgres?${query}`;
  const ca = join(TLS, "ca.pem");
  const other = join(TLS, "other-ca.pem");
  // Rows over TLS come through the tap on the TLS socket's own reads: some longer than a read.
  const made = await cluster.psql("postgres", [
    "-c",
    "CREATE TABLE t AS SELECT x, repeat('p', CASE WHEN x % 5000 = 0 THEN 100000 ELSE x % 300 END) AS pad FROM generate_series(1, 50000) x",
  ]);
  assertEquals(made.code, 0, made.stderr);

  const plain = await backup(at("127.0.0.1", "sslmode=disable"), dir.path, "disable");
  assertEquals(plain.code, 1, plain.stderr);
  assertStringIncludes(plain.stderr, "no encryption");
  for (
    const [name, url] of [
      ["default", at("127.0.0.1", "")],
      ["prefer", at("127.0.0.1", "sslmode=prefer")],
      ["require", at("127.0.0.1", "sslmode=require")],
      ["verify-ca", at("127.0.0.1", `sslmode=verify-ca&sslrootcert=${ca}`)],
      ["verify-full", at("localhost", `sslmode=verify-full&sslrootcert=${ca}`)],
    ]
  ) {
    const result = await backup(url, dir.path, name);
    assertEquals(result.code, 0, `${name}: ${result.stderr}`);
  }
  // Every row came whole: the manifest (digests taken as the rows arrived) matches the dump.
  const verified = await runAgent([
    "verify",
    "--in",
    join(dir.path, "require.enc"),
    "--key-file",
    join(dir.path, "require.key"),
    "--level",
    "manifest",
  ]);
  assertEquals(verified.code, 0, verified.stderr);
  assertStringIncludes(verified.stdout + verified.stderr, `"public"."t": 50000`);
  const wrongCa = await backup(
    at("127.0.0.1", `sslmode=verify-ca&sslrootcert=${other}`),
    dir.path,
    "wrong-ca",
  );
  assertEquals(wrongCa.code, 1, wrongCa.stderr);
  assertStringIncludes(wrongCa.stderr.toLowerCase(), "certificate");
  const noCa = await backup(at("127.0.0.1", "sslmode=verify-full"), dir.path, "no-ca");
  assertEquals(noCa.code, 1, noCa.stderr);
  assertStringIncludes(noCa.stderr, "sslrootcert");
});

Deno.test("a UNIX socket directory in ?host= reaches the server without TCP", async () => {
  await using cluster = await TempPgCluster.start({ tlsDir: TLS });
  await using dir = await tempDir("backupy-pg-socket-");
  // TCP without TLS is refused by this cluster, so success proves the socket was used.
  const result = await backup(
    `postgres:///postgres?host=${
      encodeURIComponent(cluster.dir)
    }&port=${cluster.port}&user=postgres`,
    dir.path,
    "socket",
  );
  assertEquals(result.code, 0, result.stderr);
});
