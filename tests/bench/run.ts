/** `deno task bench`: every benchmark, one after the other. */
await import("./decrypt_bench.ts");
