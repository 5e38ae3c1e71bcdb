/**
 * Where the Docker engine listens. The service uses BACKUPY_DOCKER_SOCKET;
 * local mode prefers DOCKER_HOST (`unix://...`), as the docker CLI does
 * (docs/agent.md section 5).
 *
 * @module
 */
import { UsageError } from "../../decrypt/errors.ts";

/** The default socket path. */
export const DEFAULT_DOCKER_SOCKET = "/var/run/docker.sock";

/** The socket for local mode: DOCKER_HOST when set, else BACKUPY_DOCKER_SOCKET, else the default. */
export function localDockerSocket(
  env: (name: string) => string | undefined = (name) => Deno.env.get(name),
): string {
  const dockerHost = env("DOCKER_HOST");
  if (dockerHost) {
    if (!dockerHost.startsWith("unix://")) {
      throw new UsageError(
        `DOCKER_HOST=${
          dockerHost.replace(/\/\/[^@/]*@/, "//")
        }: only unix:// sockets are supported`,
      );
    }
    return dockerHost.slice("unix://".length);
  }
  return env("BACKUPY_DOCKER_SOCKET") || env("BACKUP_DOCKER_SOCKET") || DEFAULT_DOCKER_SOCKET;
}
