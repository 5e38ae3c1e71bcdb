/** docker/container_type.ts: which engine a container runs, by image and labels. */
import {
  containerType,
  engineForImage,
  imageRepository,
} from "../../agent/docker/container_type.ts";
import { assertEquals } from "../support/assert.ts";

Deno.test("image rules: registry, digest and tag dropped; exporters do not match", () => {
  assertEquals(imageRepository("registry.example.com:5000/Acme/DB:1.2@sha256:abc"), "acme/db");
  assertEquals(imageRepository("localhost/postgres:16"), "postgres");
  assertEquals(imageRepository("docker.io/library/redis:7"), "redis");
  const cases: [string, string | undefined][] = [
    ["postgres:16", "postgresql"],
    ["postgresql", "postgresql"],
    ["postgis/postgis:16-3.4", "postgresql"],
    ["timescale/timescaledb:latest-pg16", "postgresql"],
    ["ghcr.io/bitnami/postgresql:16", "postgresql"],
    ["mariadb:11", "mariadb"],
    ["bitnami/mariadb", "mariadb"],
    ["mysql:8.0", "mysql"],
    ["mysql8", "mysql"],
    ["percona:8", "mysql"],
    ["bitnami/mysql:8.4", "mysql"],
    ["mongo:7", "mongodb"],
    ["bitnami/mongodb:7.0", "mongodb"],
    ["redis:7-alpine", "redis"],
    ["bitnami/redis", "redis"],
    ["prom/mysqld-exporter", undefined],
    ["prometheuscommunity/postgres-exporter:v0.15", undefined],
    ["rediscommander/redis-commander", undefined],
    ["mysqlrouter", undefined],
    ["nginx:latest", undefined],
  ];
  for (const [image, engine] of cases) assertEquals(engineForImage(image), engine, image);
});

Deno.test("labels hide a container or set its type", () => {
  assertEquals(containerType("postgres:16", { "backupy.enable": "false" }), { kind: "hidden" });
  assertEquals(containerType("acme/db:1", { "backupy.type": "MariaDB" }), {
    kind: "engine",
    engine: "mariadb",
  });
  assertEquals(containerType("redis:7", { "backupy.type": "sqlite" }), {
    kind: "engine",
    engine: "sqlite",
  });
  // An unknown label value falls back to the image rule.
  assertEquals(containerType("redis:7", { "backupy.type": "oracle" }), {
    kind: "engine",
    engine: "redis",
  });
  assertEquals(containerType("nginx", {}), { kind: "unknown" });
});
