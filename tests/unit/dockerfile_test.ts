/**
 * The image's Dockerfile, parsed with `dockerfile-ast` (docs/agent.md section
 * 12): a build stage on the build platform that cross-compiles, and a final
 * distroless stage holding only the binary and the state volume, running as
 * nonroot, with the health check, OCI labels and `run` as the default
 * command. Plus the build context's .dockerignore.
 */
import { DockerfileParser } from "dockerfile-ast";
import { assert, assertEquals, assertMatch } from "../support/assert.ts";
import { ROOT } from "../support/programs.ts";

const dockerfile = DockerfileParser.parse(await Deno.readTextFile(`${ROOT}Dockerfile`));
const froms = dockerfile.getFROMs();
const finalStart = froms[froms.length - 1].getRange().start.line;
const instructions = dockerfile.getInstructions();
const finalStage = instructions.filter((i) => i.getRange().start.line >= finalStart);
const args = (keyword: string) =>
  finalStage.filter((i) => i.getKeyword() === keyword).map((i) => i.getArgumentsContent() ?? "");

Deno.test("Dockerfile: the build stage cross-compiles on the build platform", () => {
  assertEquals(froms.length, 2);
  assertEquals(froms[0].getImageName(), "denoland/deno");
  assertEquals(froms[0].getPlatformFlag()?.getValue(), "$BUILDPLATFORM");
  const build = instructions.filter((i) => i.getRange().start.line < finalStart);
  assert(build.some((i) => i.getKeyword() === "ARG" && i.getArgumentsContent() === "TARGETARCH"));
  const compile = build.find((i) =>
    i.getKeyword() === "RUN" && /compile\.ts/.test(i.getArgumentsContent() ?? "")
  );
  assert(compile, "a RUN compiles the agent");
  assertMatch(compile.getArgumentsContent()!, /--target "\$\{target\}"/);
  assertMatch(compile.getArgumentsContent()!, /aarch64-unknown-linux-gnu/);
});

Deno.test("Dockerfile: the final stage is distroless, nonroot, with volume, health check and run", () => {
  const final = froms[froms.length - 1];
  assertEquals(final.getRegistry(), "gcr.io");
  assertEquals(final.getImageName(), "distroless/cc-debian12");
  assertEquals(final.getImageTag(), "nonroot");
  assertEquals(args("USER"), ["nonroot:nonroot"]);
  assertEquals(args("VOLUME"), ["/var/lib/backupy"]);
  assertEquals(args("HEALTHCHECK").length, 1);
  assertMatch(args("HEALTHCHECK")[0], /CMD \["\/backupy-agent", "health-check"\]$/);
  assertEquals(args("ENTRYPOINT"), ['["/backupy-agent"]']);
  assertEquals(args("CMD"), ['["run"]']);
  // Nothing but the binary and the state directory is copied in; no shell, no package manager.
  assertEquals(args("COPY"), ["/out/backupy-agent /backupy-agent", "/out/state /var/lib/backupy"]);
  assertEquals(args("RUN"), []);
  const labels = args("LABEL").join(" ");
  for (const key of ["title", "description", "source", "licenses", "revision"]) {
    assertMatch(labels, new RegExp(`org\\.opencontainers\\.image\\.${key}=`));
  }
});

Deno.test(".dockerignore admits only what the build stage copies", async () => {
  const lines = (await Deno.readTextFile(`${ROOT}.dockerignore`)).split("\n")
    .filter((l) => l.trim() && !l.startsWith("#"));
  assertEquals(lines[0], "*");
  const copied = instructions.filter((i) =>
    i.getKeyword() === "COPY" && i.getRange().start.line < finalStart
  )
    .flatMap((i) => (i.getArgumentsContent() ?? "").split(/\s+/).slice(0, -1));
  for (const source of copied) assert(lines.includes(`!${source}`), `${source} is in the context`);
});
