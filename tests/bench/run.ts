/**
 * `deno task bench`: every benchmark, one after the other.
 * BENCH_ONLY=decrypt, agent, redis, mysql, postgres, pgrestore, docker, mongo, verify or idle runs one.
 */
const only = Deno.env.get("BENCH_ONLY");
if (!only || only === "decrypt") await import("./decrypt_bench.ts");
if (!only || only === "agent") await import("./agent_backup_bench.ts");
if (!only || only === "redis") await import("./redis_bench.ts");
if (!only || only === "mysql") await import("./mysql_bench.ts");
if (!only || only === "postgres") await import("./postgres_bench.ts");
if (!only || only === "pgrestore") await import("./postgres_restore_bench.ts");
if (!only || only === "docker") await import("./docker_bench.ts");
if (!only || only === "mongo") await import("./mongo_bench.ts");
if (!only || only === "verify") await import("./verify_bench.ts");
if (!only || only === "idle") await import("./idle_bench.ts");
