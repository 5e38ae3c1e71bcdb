/**
 * Self-update end to end (docs/agent.md section 11). A compiled binary cannot be
 * built here, so the "installed binary" is a shell script that runs the
 * agent from source, and the "new binary" the control plane offers is
 * another such script; they are signed with a test key the agent is told
 * about through BACKUPY_TEST_SELF_UPDATE (honoured only when running from
 * source). Proven: a good update replaces the file and the new binary
 * takes over; a bad signature or checksum is refused with the file
 * untouched; a binary that never becomes healthy is rolled back and the
 * old agent carries on.
 */
import { create } from "@bufbuild/protobuf";
import { generateKeyPairSync, sign } from "node:crypto";
import { join } from "node:path";
import { AdvancedSettingsSchema } from "@backupy/gen/backup/v1/common_pb.ts";
import { PingSchema, SelfUpdateSchema } from "@backupy/gen/backup/v1/server_to_agent_pb.ts";
import { AgentProcess } from "../support/agent_process.ts";
import {
  makeSqliteDatabase,
  sqliteConfig,
  stateDirIn,
  tempDir,
  TEST_AGENT_KEY,
} from "../support/agent_fixtures.ts";
import { assert, assertEquals, assertMatch } from "../support/assert.ts";
import { ControlPlane } from "../support/control_plane.ts";
import { agentArgv } from "../support/programs.ts";

const quote = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;

/** A script that runs the agent from source with its arguments, after `before`. */
function agentScript(before = ""): string {
  const [command, argv] = agentArgv([]);
  return `#!/bin/sh\n${before}\nexec ${[command, ...argv].map(quote).join(" ")} "$@"\n`;
}

async function setup() {
  const dir = await tempDir("backupy-self-update-");
  const database = join(dir.path, "app.db");
  makeSqliteDatabase(database, 10);
  const binary = join(dir.path, "bin", "backupy-agent");
  await Deno.mkdir(join(dir.path, "bin"));
  const original = agentScript();
  await Deno.writeTextFile(binary, original, { mode: 0o755 });

  const keys = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const otherKeys = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const offered = new Map<string, Uint8Array>();
  const files = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (request) => {
    const body = offered.get(new URL(request.url).pathname);
    return body ? new Response(body.slice()) : new Response("no", { status: 404 });
  });

  const config = sqliteConfig(database);
  config.advanced = create(AdvancedSettingsSchema, { autoUpdateEnabled: true });
  const server = new ControlPlane({ agentKey: TEST_AGENT_KEY, config });
  const agent = AgentProcess.start({
    BACKUPY_AGENT_KEY: TEST_AGENT_KEY,
    BACKUPY_SERVER_URL: server.url,
    BACKUPY_TEST_SELF_UPDATE: JSON.stringify({
      binaryPath: binary,
      publicKey: keys.publicKey.export({ type: "spki", format: "der" }).toString("base64"),
      healthTimeoutMs: 6000,
      ignoreContainer: true,
    }),
  }, stateDirIn(dir.path));
  await server.waitFor("the first heartbeat", () => server.payloads("heartbeat").length > 0);

  /** Offers `content` as a new binary; returns the Ack. */
  const offer = async (
    id: string,
    content: string,
    options: { signer?: typeof keys; sha256?: string } = {},
  ) => {
    const bytes = new TextEncoder().encode(content);
    offered.set(`/${id}`, bytes);
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes)).toHex();
    const signature = sign("sha256", bytes, (options.signer ?? keys).privateKey);
    server.send({
      case: "selfUpdate",
      value: create(SelfUpdateSchema, {
        targetVersion: "9.9.9",
        binaryUrl: `http://127.0.0.1:${files.addr.port}/${id}`,
        sha256: options.sha256 ?? digest,
        cosignSignature: new TextEncoder().encode(signature.toString("base64")),
      }),
    }, id);
    return await server.waitFor(
      `Ack ${id}`,
      () => server.payloads("ack").find((a) => a.correlationId === id),
      30_000,
    );
  };

  return {
    dir,
    binary,
    original,
    otherKeys,
    server,
    agent,
    offer,
    async [Symbol.asyncDispose]() {
      await agent[Symbol.asyncDispose]();
      await server[Symbol.asyncDispose]();
      await files.shutdown();
      await dir[Symbol.asyncDispose]();
    },
  };
}

Deno.test("self-update: a bad signature or checksum is refused and the binary stays", async () => {
  await using t = await setup();
  const badSignature = await t.offer("bad-sig", agentScript("true"), { signer: t.otherKeys });
  assertEquals(badSignature.accepted, false);
  assertMatch(badSignature.reason, /signature does not verify/);
  const badSum = await t.offer("bad-sum", agentScript("true"), { sha256: "0".repeat(64) });
  assertEquals(badSum.accepted, false);
  assertMatch(badSum.reason, /SHA-256 is [0-9a-f]{64}, not the expected 0{64}/);
  assertEquals(await Deno.readTextFile(t.binary), t.original);
  assertEquals([...Deno.readDirSync(join(t.dir.path, "bin"))].map((e) => e.name), [
    "backupy-agent",
  ]);
  // Still the same agent, still answering.
  t.server.send({ case: "ping", value: create(PingSchema, { tsMs: 1n }) }, "still-there");
  await t.server.waitFor(
    "the ping's Ack",
    () => t.server.payloads("ack").find((a) => a.correlationId === "still-there"),
  );
  assertEquals(t.server.payloads("register").length, 1);
});

Deno.test("self-update: the verified binary replaces the file and takes over", async () => {
  await using t = await setup();
  const marker = join(t.dir.path, "new-binary-ran");
  const next = agentScript(`echo ran > ${quote(marker)}`);
  const ack = await t.offer("good", next);
  assertEquals(ack.accepted, true, ack.reason);
  assertEquals(ack.reason, "updating to 9.9.9");
  await t.server.waitFor(
    "the new agent's Register",
    () => t.server.payloads("register").length >= 2,
    60_000,
  );
  await t.server.waitFor("the marker", () => {
    try {
      return Deno.statSync(marker).isFile;
    } catch {
      return false;
    }
  });
  assertEquals(await Deno.readTextFile(t.binary), next);
  await t.server.waitFor(
    "the previous binary removed once healthy",
    () => [...Deno.readDirSync(join(t.dir.path, "bin"))].length === 1,
    20_000,
  );
  const status = await t.agent.stop("SIGTERM");
  assertEquals(status.code, 0, "SIGTERM reached the new agent through its parent");
});

Deno.test("self-update: a binary that never becomes healthy is rolled back and the old agent carries on", async () => {
  await using t = await setup();
  const ack = await t.offer("never-healthy", "#!/bin/sh\nexec sleep 600\n");
  assertEquals(ack.accepted, true, ack.reason);
  // The old service stopped, the new binary never heartbeat, the old one is back.
  await t.server.waitFor(
    "the old agent registering again",
    () => t.server.payloads("register").length >= 2,
    60_000,
  );
  assertEquals(await Deno.readTextFile(t.binary), t.original);
  assert(![...Deno.readDirSync(join(t.dir.path, "bin"))].some((e) => e.name.endsWith(".previous")));
  assert(t.agent.lines.some((line) => line.includes("self-update rolled back")));
  const status = await t.agent.stop("SIGTERM");
  assertEquals(status.code, 0);
});
