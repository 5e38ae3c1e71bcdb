/** docker/docker_socket.ts: which Docker socket local mode uses. */
import { DEFAULT_DOCKER_SOCKET, localDockerSocket } from "../../agent/docker/docker_socket.ts";
import { UsageError } from "../../decrypt/errors.ts";
import { assertEquals, assertThrows } from "../support/assert.ts";

Deno.test("local mode's Docker socket: DOCKER_HOST unix:// first", () => {
  const env = (vars: Record<string, string>) => (name: string) => vars[name];
  assertEquals(localDockerSocket(env({})), DEFAULT_DOCKER_SOCKET);
  assertEquals(localDockerSocket(env({ BACKUPY_DOCKER_SOCKET: "/b.sock" })), "/b.sock");
  assertEquals(
    localDockerSocket(env({ DOCKER_HOST: "unix:///run/d.sock", BACKUPY_DOCKER_SOCKET: "/b" })),
    "/run/d.sock",
  );
  assertThrows(() => localDockerSocket(env({ DOCKER_HOST: "tcp://1.2.3.4:2375" })), UsageError);
});
