/** The DOCKER_EXEC engines' logins: the target first, the container's environment fills the rest. */
import { mysqlExecLogin } from "../../agent/engines/mysql/docker_exec_mysql.ts";
import { postgresExecEnv } from "../../agent/engines/postgres/docker_exec_postgres.ts";
import { Secret } from "../../decrypt/secret.ts";
import { assert, assertEquals } from "../support/assert.ts";
import { containerFacts as facts } from "../support/container_facts.ts";

Deno.test("DOCKER_EXEC credentials: the target first, the container's env fills the rest", () => {
  const base = { container: "db", host: "", port: 0, database: "", username: "" };
  const env = postgresExecEnv(
    base,
    facts({ POSTGRES_USER: "app", POSTGRES_PASSWORD: "pw", POSTGRES_DB: "shop" }),
  );
  assertEquals(env.PGUSER, "app");
  assertEquals(env.PGDATABASE, "shop");
  assert(env.PGPASSWORD instanceof Secret && env.PGPASSWORD.reveal() === "pw");
  const explicit = postgresExecEnv(
    { ...base, username: "other", database: "db2", password: new Secret("x"), port: 6543 },
    facts({ POSTGRES_USER: "app", POSTGRES_PASSWORD: "pw" }),
  );
  assertEquals([explicit.PGUSER, explicit.PGDATABASE, explicit.PGPORT], ["other", "db2", "6543"]);
  assertEquals((explicit.PGPASSWORD as Secret<string>).reveal(), "x");
  // The official image's default database is the user's name.
  assertEquals(postgresExecEnv(base, facts({ POSTGRES_USER: "app" })).PGDATABASE, "app");

  const root = mysqlExecLogin(base, facts({ MARIADB_ROOT_PASSWORD: "r", MARIADB_DATABASE: "d" }));
  assertEquals([root.user, root.password?.reveal(), root.database], ["root", "r", "d"]);
  const app = mysqlExecLogin(base, facts({ MYSQL_USER: "u", MYSQL_PASSWORD: "p" }));
  assertEquals([app.user, app.password?.reveal(), app.database], ["u", "p", ""]);
  const named = mysqlExecLogin(
    { ...base, username: "u" },
    facts({ MYSQL_ROOT_PASSWORD: "r", MYSQL_USER: "u", MYSQL_PASSWORD: "p" }),
  );
  assertEquals([named.user, named.password?.reveal()], ["u", "p"]);
});
