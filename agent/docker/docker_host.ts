/**
 * The Docker engine on this host, on a UNIX socket: what discovery reads
 * (running containers, their inspect data, events; plain GETs, see
 * engine_reads.ts) and, through `dockerode`, the exec API the DOCKER_EXEC
 * strategy and docker hooks run commands with and the containers restore
 * checks start.
 *
 * Exec has no kill, so every command starts as `sh -c 'echo $$ >&2; exec
 * ...'`: the first stderr line is the process id (the exec'd process leads
 * its own process group), and a cancelled command is killed with a second
 * exec. Credentials travel only in the exec's environment.
 *
 * @module
 */
// @ts-types="@types/dockerode"
import type Docker from "dockerode";
import type { Duplex } from "node:stream";
import { Secret } from "../../decrypt/secret.ts";
import type {
  ContainerFacts,
  ContainerRuntime,
  ExecProcess,
} from "../engines/shared/container_exec.ts";
import { TailBuffer } from "../bytes/tail_buffer.ts";
import { DockerApiError, getJson, getJsonLines, query } from "./engine_reads.ts";
import { ChunkCoalescer, FrameParser } from "./multiplexed_stream.ts";

/**
 * Writes `source` into the exec's socket, waiting for it to drain, then
 * half-closes it so the command sees the end of its input. A failed source
 * ends the socket too: the command then fails on its truncated input.
 */
async function feedStdin(source: ReadableStream<Uint8Array>, socket: Duplex): Promise<void> {
  try {
    for await (const chunk of source) {
      if (socket.destroyed) return;
      if (!socket.write(chunk)) {
        await new Promise<void>((resolve) => {
          const done = () => {
            socket.off("drain", done);
            socket.off("close", done);
            resolve();
          };
          socket.on("drain", done);
          socket.on("close", done);
        });
      }
    }
    socket.end();
  } catch {
    socket.destroy();
  }
}

/** Docker said no, or is not there; the message is safe to log. */
export class DockerError extends Error {}

/** Options of {@linkcode DockerHost.exec}. */
export interface ExecOptions {
  /** Run as this user instead of the container's. */
  user?: string;
  /** Fed to the command's stdin (with backpressure), which is closed at its end. */
  stdin?: ReadableStream<Uint8Array>;
}

/**
 * stdout travels in chunks of this size: tools write a few KiB at a time,
 * and every chunk costs a trip through each pipeline stage.
 */
const STDOUT_CHUNK = 256 * 1024;

/** Chunks queued before the socket is paused (backpressure). */
const STDOUT_QUEUE_CHUNKS = 4;

/**
 * The exec's stdout as a stream of large chunks, read straight off the
 * hijacked socket: the socket pauses while the consumer is behind, and
 * stderr goes to `onStderr`.
 */
function demultiplexedStdout(
  socket: Duplex,
  onStderr: (bytes: Uint8Array) => void,
  on: { ended: () => void; cancelled: () => void },
): ReadableStream<Uint8Array> {
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  let done = false;
  const coalescer = new ChunkCoalescer(STDOUT_CHUNK, (chunk) => controller.enqueue(chunk));
  const parser = new FrameParser((bytes) => coalescer.push(bytes), onStderr);
  const finish = (error?: Error) => {
    if (done) return;
    done = true;
    try {
      if (error) throw error;
      parser.finish();
      coalescer.flush();
      controller.close();
    } catch (failure) {
      controller.error(failure);
    }
    on.ended();
  };
  socket.on("data", (chunk: Uint8Array) => {
    if (done) return;
    try {
      parser.feed(chunk);
    } catch (error) {
      socket.destroy();
      return finish(error as Error);
    }
    if ((controller.desiredSize ?? 0) <= 0) socket.pause();
  });
  socket.on("end", () => finish());
  socket.on("close", () => finish());
  socket.on(
    "error",
    (error: Error) => finish(new DockerError(`the exec stream failed: ${error.message}`)),
  );
  return new ReadableStream<Uint8Array>({
    start(c) {
      controller = c;
    },
    pull() {
      socket.resume();
    },
    cancel() {
      done = true;
      on.cancelled();
    },
  }, { highWaterMark: STDOUT_QUEUE_CHUNKS });
}

/** How long a cancelled command gets between SIGTERM and SIGKILL. */
const KILL_GRACE_TENTHS = 20;

/** Kills the process group `$1` leads, then `$1` itself, SIGKILL after a grace. */
const KILL_SCRIPT = [
  'p="$1"',
  'kill -TERM -- "-$p" 2>/dev/null || kill -TERM "$p" 2>/dev/null || exit 0',
  "i=0",
  `while kill -0 "$p" 2>/dev/null && [ "$i" -lt ${KILL_GRACE_TENTHS} ]; do sleep 0.1; i=$((i+1)); done`,
  'kill -KILL -- "-$p" 2>/dev/null; kill -KILL "$p" 2>/dev/null; exit 0',
].join("\n");

function describe(error: unknown): string {
  const e = error as { statusCode?: number; json?: { message?: string }; message?: string };
  return e.json?.message ?? e.message ?? String(error);
}

function parsePort(key: string): { port: number; protocol: string } {
  const [port, protocol] = key.split("/");
  return { port: Number(port), protocol: protocol || "tcp" };
}

/** The Docker engine behind one socket. */
export class DockerHost implements ContainerRuntime {
  #docker: Docker | undefined;
  /** The socket path, for messages. */
  readonly socketPath: string;

  /** Talks to the engine at `socketPath`; nothing is contacted yet. */
  constructor(socketPath: string) {
    this.socketPath = socketPath;
  }

  /** dockerode, loaded on first use: local backups of other targets never pay for it. */
  async #api(): Promise<Docker> {
    if (!this.#docker) {
      const { default: Dockerode } = await import("dockerode");
      this.#docker = new Dockerode({ socketPath: this.socketPath }) as Docker;
    }
    return this.#docker;
  }

  /** The engine's version; rejects with {@linkcode DockerError} when unreachable. */
  async version(): Promise<string> {
    try {
      return (await getJson<{ Version: string }>(this.socketPath, "/version")).Version;
    } catch (error) {
      throw new DockerError(
        `the Docker engine at ${this.socketPath} is not reachable: ${describe(error)}`,
      );
    }
  }

  /**
   * Creates and starts a throwaway container of `image` with no network at
   * all (restore verification); `env` goes into its config, so only
   * throwaway credentials belong there. Returns its id; the caller removes
   * it with {@linkcode DockerHost.removeContainer}.
   */
  async startIsolated(
    image: string,
    env: Record<string, string>,
    labels: Record<string, string>,
  ): Promise<string> {
    const api = await this.#api();
    let container: Docker.Container;
    try {
      container = await api.createContainer({
        Image: image,
        Env: Object.entries(env).map(([key, value]) => `${key}=${value}`),
        Labels: labels,
        HostConfig: { NetworkMode: "none" },
      });
    } catch (error) {
      throw new DockerError(`cannot create a container of ${image}: ${describe(error)}`);
    }
    try {
      await container.start();
    } catch (error) {
      await this.removeContainer(container.id);
      throw new DockerError(`cannot start a container of ${image}: ${describe(error)}`);
    }
    return container.id;
  }

  /** Starts a stopped container again (its filesystem as it was left). */
  async startContainer(id: string): Promise<void> {
    try {
      await (await this.#api()).getContainer(id).start();
    } catch (error) {
      throw new DockerError(`cannot start container ${id}: ${describe(error)}`);
    }
  }

  /** Removes a container, running or not, with its anonymous volumes; a missing one is fine. */
  async removeContainer(id: string): Promise<void> {
    try {
      await (await this.#api()).getContainer(id).remove({ force: true, v: true });
    } catch (error) {
      if ((error as { statusCode?: number }).statusCode === 404) return;
      throw new DockerError(`cannot remove container ${id}: ${describe(error)}`);
    }
  }

  /**
   * The last `lines` lines a container's main process wrote (stdout and
   * stderr together), for a message saying why it stopped; "" when the
   * engine will not tell.
   */
  async logTail(id: string, lines: number): Promise<string> {
    try {
      const raw = await (await this.#api()).getContainer(id).logs({
        stdout: true,
        stderr: true,
        tail: lines,
        follow: false,
      }) as unknown as Uint8Array;
      let text = "";
      const parser = new FrameParser(
        (b) => (text += new TextDecoder().decode(b)),
        (b) => (text += new TextDecoder().decode(b)),
      );
      parser.feed(new Uint8Array(raw));
      parser.finish();
      return text.trim();
    } catch {
      return "";
    }
  }

  /** Every container, running or not, that carries `label` (`key` or `key=value`). */
  async containersLabelled(
    label: string,
  ): Promise<{ id: string; labels: Record<string, string> }[]> {
    try {
      const list = await getJson<Docker.ContainerInfo[]>(
        this.socketPath,
        `/containers/json${query({ all: true, filters: { label: [label] } })}`,
      );
      return list.map((c) => ({ id: c.Id, labels: c.Labels ?? {} }));
    } catch (error) {
      throw new DockerError(`cannot list containers: ${describe(error)}`);
    }
  }

  /** Ids of the running containers. */
  async runningContainerIds(): Promise<string[]> {
    try {
      const list = await getJson<Docker.ContainerInfo[]>(this.socketPath, "/containers/json");
      return list.map((c) => c.Id);
    } catch (error) {
      throw new DockerError(`cannot list containers: ${describe(error)}`);
    }
  }

  /** Inspects a container by name or id; null when there is none. */
  async inspect(nameOrId: string): Promise<ContainerFacts | null> {
    let info: Docker.ContainerInspectInfo;
    try {
      info = await getJson<Docker.ContainerInspectInfo>(
        this.socketPath,
        `/containers/${encodeURIComponent(nameOrId)}/json`,
      );
    } catch (error) {
      if (error instanceof DockerApiError && error.statusCode === 404) return null;
      throw new DockerError(`cannot inspect container ${nameOrId}: ${describe(error)}`);
    }
    const env = new Map<string, string>();
    for (const entry of info.Config.Env ?? []) {
      const eq = entry.indexOf("=");
      if (eq > 0) env.set(entry.slice(0, eq), entry.slice(eq + 1));
    }
    const published = info.NetworkSettings.Ports ?? {};
    const portKeys = new Set([
      ...Object.keys(info.Config.ExposedPorts ?? {}),
      ...Object.keys(published),
    ]);
    const ports = [...portKeys].sort().map((key) => {
      const { port, protocol } = parsePort(key);
      const binding = published[key]?.find((b) => b.HostPort);
      return { containerPort: port, hostPort: binding ? Number(binding.HostPort) : 0, protocol };
    });
    return {
      id: info.Id,
      name: info.Name.replace(/^\//, ""),
      image: info.Config.Image,
      running: info.State.Running,
      labels: info.Config.Labels ?? {},
      env,
      networks: Object.keys(info.NetworkSettings.Networks ?? {}).sort(),
      ports,
      mounts: (info.Mounts ?? []).map((m) => ({ source: m.Source, destination: m.Destination })),
    };
  }

  /**
   * Calls `onEvent` for container events until `signal` aborts. Resolves
   * when the event stream ends (the engine went away); rejects when it
   * cannot be opened.
   */
  async watchEvents(
    actions: string[],
    onEvent: (action: string, containerId: string) => void,
    signal: AbortSignal,
  ): Promise<void> {
    const path = `/events${query({ filters: { type: ["container"], event: actions } })}`;
    let opened = false;
    try {
      await getJsonLines(
        this.socketPath,
        path,
        (value) => {
          const event = value as { Action?: string; status?: string; id?: string };
          onEvent(event.Action ?? event.status ?? "", event.id ?? "");
        },
        signal,
        () => opened = true,
      );
    } catch (error) {
      throw new DockerError(
        opened
          ? `Docker events stopped: ${describe(error)}`
          : `cannot watch Docker events: ${describe(error)}`,
      );
    }
  }

  /**
   * Starts `argv` in the container; its stdout streams with backpressure.
   * Aborting `signal` kills the command inside the container (the whole
   * process group it leads) and closes the stream.
   */
  async exec(
    containerId: string,
    argv: string[],
    env: Record<string, string | Secret<string>>,
    signal: AbortSignal,
    options: ExecOptions = {},
  ): Promise<ExecProcess> {
    signal.throwIfAborted();
    const container = (await this.#api()).getContainer(containerId);
    let socket: Duplex;
    let exec: Docker.Exec;
    try {
      exec = await container.exec({
        Cmd: ["/bin/sh", "-c", 'echo "$$" >&2; exec "$@"', "sh", ...argv],
        Env: Object.entries(env).map(([key, value]) =>
          `${key}=${value instanceof Secret ? value.reveal() : value}`
        ),
        AttachStdout: true,
        AttachStderr: true,
        AttachStdin: options.stdin !== undefined,
        Tty: false,
        User: options.user,
      });
      socket = await exec.start({
        hijack: true,
        stdin: options.stdin !== undefined,
      }) as unknown as Duplex;
    } catch (error) {
      throw new DockerError(
        `cannot run ${argv[0]} in container ${containerId}: ${describe(error)}`,
      );
    }

    const stderrTail = new TailBuffer();
    let pidLine = "";
    let pidSeen = false;
    let resolvePid: (pid: number | null) => void;
    const pid = new Promise<number | null>((resolve) => (resolvePid = resolve));
    const onStderr = (bytes: Uint8Array) => {
      if (!pidSeen) {
        // Until the first newline, stderr is the wrapper's process id.
        const text = new TextDecoder().decode(bytes);
        const newline = text.indexOf("\n");
        if (newline < 0) {
          pidLine += text;
          return;
        }
        pidLine += text.slice(0, newline + 1);
        pidSeen = true;
        resolvePid(/^\d+$/.test(pidLine.trim()) ? Number(pidLine.trim()) : null);
        bytes = bytes.subarray(new TextEncoder().encode(text.slice(0, newline + 1)).length);
      }
      if (bytes.length) stderrTail.push(bytes);
    };

    let ended: () => void;
    const streamEnded = new Promise<void>((resolve) => (ended = resolve));
    const kill = async () => {
      const target = await Promise.race([pid, new Promise<null>((r) => setTimeout(r, 5000, null))]);
      if (target !== null) await this.#kill(containerId, target, options.user).catch(() => {});
      socket.destroy();
    };
    const onAbort = () => void kill();
    signal.addEventListener("abort", onAbort, { once: true });

    if (options.stdin) void feedStdin(options.stdin, socket);
    const stdout = demultiplexedStdout(socket, onStderr, {
      ended: () => ended(),
      cancelled: () => {
        ended();
        void kill();
      },
    });

    const exit = streamEnded.then(async () => {
      signal.removeEventListener("abort", onAbort);
      resolvePid(null);
      const code = await this.#exitCode(exec);
      return { code, stderrTail: stderrTail.text() };
    });
    exit.catch(() => {});
    return { stdout, exit, pid };
  }

  /**
   * Waits (up to 5 s) for Docker to see an exec end; its exit code, or null
   * when there will be none (the container is gone).
   */
  async #exitCode(exec: Docker.Exec): Promise<number | null> {
    for (let attempt = 0; attempt < 100; attempt++) {
      let info: Docker.ExecInspectInfo;
      try {
        info = await exec.inspect();
      } catch {
        return null;
      }
      if (!info.Running) return typeof info.ExitCode === "number" ? info.ExitCode : null;
      await new Promise((r) => setTimeout(r, 50));
    }
    return null;
  }

  async #kill(containerId: string, pid: number, user?: string): Promise<void> {
    const exec = await (await this.#api()).getContainer(containerId).exec({
      Cmd: ["/bin/sh", "-c", KILL_SCRIPT, "sh", String(pid)],
      AttachStdout: false,
      AttachStderr: false,
      User: user,
    });
    await exec.start({ Detach: true });
    // Done when Docker sees it end (its status does not matter: the target may be gone already).
    await this.#exitCode(exec);
  }
}
