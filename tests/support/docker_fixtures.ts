/**
 * Containers for the Docker tests, from the images tests/docker_images.sh
 * builds: started with a unique name on no network (each has its own
 * loopback, so nothing collides with the host's servers), waited for, and
 * removed - also when a test fails.
 */
// @ts-types="@types/dockerode"
import Docker from "dockerode";

/** The Docker engine the services script starts. */
export const DOCKER_SOCKET = Deno.env.get("BACKUPY_TEST_DOCKER_SOCKET") ?? "/var/run/docker.sock";

/** dockerode on the test engine. */
export const docker = new Docker({ socketPath: DOCKER_SOCKET });

/** The test images (tests/docker_images.sh). */
export const IMAGES = {
  postgres: "postgres:backupy-test",
  mariadb: "mariadb:backupy-test",
  redis: "redis:backupy-test",
  base: "backupy-test/base:latest",
} as const;

/** What to start. */
export interface ContainerSpec {
  image: string;
  env?: Record<string, string>;
  labels?: Record<string, string>;
  /** host path -> container path */
  binds?: Record<string, string>;
  /** Overrides the image's command. */
  cmd?: string[];
  /** Name prefix; a random suffix keeps parallel tests apart. */
  name?: string;
  /** Wait for the entrypoint's /tmp/ready (engine images). Default true unless cmd is set. */
  waitReady?: boolean;
}

/** A running test container, removed on dispose. */
export interface TestContainer extends AsyncDisposable {
  id: string;
  name: string;
  /** Runs a command in it (docker exec) and returns stdout; throws on failure. */
  run(argv: string[], env?: Record<string, string>): Promise<string>;
  remove(): Promise<void>;
}

/** Runs `argv` in a container and returns stdout; throws with stderr on a non-zero status. */
export async function execIn(
  id: string,
  argv: string[],
  env: Record<string, string> = {},
): Promise<string> {
  const exec = await docker.getContainer(id).exec({
    Cmd: argv,
    Env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
    AttachStdout: true,
    AttachStderr: true,
  });
  const stream = await exec.start({ hijack: true, stdin: false });
  const out: Uint8Array[] = [];
  const err: Uint8Array[] = [];
  await new Promise<void>((resolve, reject) => {
    docker.modem.demuxStream(
      stream,
      { write: (c: Uint8Array) => out.push(c) } as unknown as NodeJS.WritableStream,
      { write: (c: Uint8Array) => err.push(c) } as unknown as NodeJS.WritableStream,
    );
    stream.on("end", resolve);
    stream.on("error", reject);
  });
  let info = await exec.inspect();
  for (let i = 0; info.Running && i < 100; i++) {
    await new Promise((r) => setTimeout(r, 20));
    info = await exec.inspect();
  }
  const text = (chunks: Uint8Array[]) => new TextDecoder().decode(Buffer.concat(chunks));
  if (info.ExitCode !== 0) {
    throw new Error(`${argv.join(" ")} exited ${info.ExitCode}: ${text(err)}`);
  }
  return text(out);
}

/** Starts a container and waits until its engine is ready. */
export async function startContainer(spec: ContainerSpec): Promise<TestContainer> {
  const name = `${spec.name ?? "backupy-test"}-${crypto.randomUUID().slice(0, 8)}`;
  const container = await docker.createContainer({
    name,
    Image: spec.image,
    Env: Object.entries(spec.env ?? {}).map(([k, v]) => `${k}=${v}`),
    Labels: { "backupy.test": "true", ...spec.labels },
    Cmd: spec.cmd,
    HostConfig: {
      NetworkMode: "none",
      Binds: Object.entries(spec.binds ?? {}).map(([host, inside]) => `${host}:${inside}`),
    },
  });
  const remove = () => container.remove({ force: true, v: true }).catch(() => {});
  try {
    await container.start();
    if (spec.waitReady ?? spec.cmd === undefined) {
      const deadline = Date.now() + 60_000;
      for (;;) {
        try {
          await execIn(container.id, ["test", "-f", "/tmp/ready"]);
          break;
        } catch (error) {
          if (Date.now() > deadline) {
            const logs = await container.logs({ stdout: true, stderr: true, tail: 20 });
            throw new Error(`${name} did not get ready: ${error}\n${logs}`);
          }
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    }
  } catch (error) {
    await remove();
    throw error;
  }
  return {
    id: container.id,
    name,
    run: (argv, env) => execIn(container.id, argv, env),
    remove,
    [Symbol.asyncDispose]: remove,
  };
}

/** Process ids in a container whose command line contains `needle` (busybox ps). */
export async function processesMatching(id: string, needle: string): Promise<string[]> {
  const out = await execIn(id, ["ps", "-o", "pid,args"]);
  return out.split("\n").slice(1).filter((line) =>
    line.includes(needle) && !line.includes("ps -o")
  );
}

/**
 * Every process command line on this host - the containers' processes
 * included, since they share the kernel - that contains one of `needles`.
 */
export async function commandLinesContaining(needles: string[]): Promise<string[]> {
  const hits: string[] = [];
  for await (const entry of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    let cmdline: string;
    try {
      cmdline = (await Deno.readTextFile(`/proc/${entry.name}/cmdline`)).replaceAll("\0", " ");
    } catch {
      continue; // the process ended
    }
    if (needles.some((needle) => cmdline.includes(needle))) hits.push(cmdline);
  }
  return hits;
}
