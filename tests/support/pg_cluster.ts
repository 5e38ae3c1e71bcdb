/**
 * A throwaway PostgreSQL cluster of the Debian server binaries, for tests
 * that dump or restore a whole server (a fresh cluster to restore into, a
 * source no parallel test writes to). `initdb` and the server run as the
 * `postgres` user; trust authentication on 127.0.0.1 and a private socket
 * directory. Removed on dispose.
 */
import { join } from "node:path";
import { freePort, waitForPort } from "./free_port.ts";

function binDir(): string {
  const versions = [...Deno.readDirSync("/usr/lib/postgresql")].map((e) => e.name)
    .sort((a, b) => Number(a) - Number(b));
  if (versions.length === 0) {
    throw new Error("no PostgreSQL server binaries in /usr/lib/postgresql");
  }
  return `/usr/lib/postgresql/${versions.at(-1)}/bin`;
}

async function asPostgres(command: string, args: string[]): Promise<void> {
  const output = await new Deno.Command("runuser", {
    args: ["-u", "postgres", "--", join(binDir(), command), ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!output.success) {
    throw new Error(`${command} failed: ${new TextDecoder().decode(output.stderr).slice(0, 2000)}`);
  }
}

/** A running cluster; `url(db)` connects as the superuser `postgres`. */
export class TempPgCluster implements AsyncDisposable {
  private constructor(readonly dir: string, readonly port: number) {}

  /**
   * initdb + start; under a second. With `tlsDir` (tests/services.sh's
   * certificates) the server speaks TLS and refuses TCP connections
   * without it.
   */
  static async start(options: { tlsDir?: string } = {}): Promise<TempPgCluster> {
    const dir = await Deno.makeTempDir({ prefix: "backupy-pgcluster-" });
    await Deno.chmod(dir, 0o755);
    await new Deno.Command("chown", { args: ["postgres:postgres", dir] }).output();
    const data = join(dir, "data");
    await asPostgres("initdb", [
      "-D",
      data,
      "-U",
      "postgres",
      "-A",
      "trust",
      "-E",
      "UTF8",
      "--no-sync",
    ]);
    const settings = [];
    if (options.tlsDir) {
      for (const file of ["server.pem", "server-key.pem"]) {
        await Deno.copyFile(join(options.tlsDir, file), join(data, file));
        await Deno.chmod(join(data, file), 0o600);
      }
      await new Deno.Command("chown", {
        args: ["postgres:postgres", join(data, "server.pem"), join(data, "server-key.pem")],
      }).output();
      settings.push("-c ssl=on -c ssl_cert_file=server.pem -c ssl_key_file=server-key.pem");
      await Deno.writeTextFile(
        join(data, "pg_hba.conf"),
        "local all all trust\nhostssl all all 127.0.0.1/32 trust\nhostnossl all all 127.0.0.1/32 reject\n",
      );
    }
    const port = freePort();
    await asPostgres("pg_ctl", [
      "-D",
      data,
      "-l",
      join(dir, "server.log"),
      "-o",
      `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off ${settings.join(" ")}`,
      "-w",
      "start",
    ]);
    await waitForPort(port, 10_000, "temporary PostgreSQL");
    return new TempPgCluster(dir, port);
  }

  /** `postgres://postgres@127.0.0.1:PORT/DB` (no database: the whole server). */
  url(database = ""): string {
    return `postgres://postgres@127.0.0.1:${this.port}/${encodeURIComponent(database)}`;
  }

  /** Connection options for postgres.js. */
  options(database = "postgres") {
    return {
      host: "127.0.0.1",
      port: this.port,
      user: "postgres",
      database,
      max: 1,
      onnotice: () => {},
    };
  }

  /** Runs psql against `database` with ON_ERROR_STOP; returns exit code and stderr. */
  async psql(database: string, args: string[]): Promise<{ code: number; stderr: string }> {
    const output = await new Deno.Command("psql", {
      args: [
        "-X",
        "-q",
        "-v",
        "ON_ERROR_STOP=1",
        "-h",
        "127.0.0.1",
        "-p",
        String(this.port),
        "-U",
        "postgres",
        "-d",
        database,
        ...args,
      ],
      stdout: "null",
      stderr: "piped",
    }).output();
    return { code: output.code, stderr: new TextDecoder().decode(output.stderr) };
  }

  /** An immediate restart (as after a crash), on the same port and settings. */
  async restart(): Promise<void> {
    await asPostgres("pg_ctl", [
      "-D",
      join(this.dir, "data"),
      "-l",
      join(this.dir, "server.log"),
      "-m",
      "immediate",
      "-w",
      "restart",
    ]);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await asPostgres("pg_ctl", ["-D", join(this.dir, "data"), "-m", "immediate", "-w", "stop"])
      .catch(() => {});
    await Deno.remove(this.dir, { recursive: true }).catch(() => {});
  }
}
