/**
 * `deno task bench`: every benchmark, one after the other.
 * BENCH_ONLY=decrypt or BENCH_ONLY=agent runs one.
 */
const only = Deno.env.get("BENCH_ONLY");
if (!only || only === "decrypt") await import("./decrypt_bench.ts");
if (!only || only === "agent") await import("./agent_backup_bench.ts");
