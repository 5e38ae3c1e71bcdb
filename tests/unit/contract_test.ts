/**
 * The backup.v1 contract: every message survives a round trip with every
 * field set, the spec's wire vectors encode and decode byte-exactly, and
 * decoding tolerates what a newer server may send.
 */
import { assertEquals, assertNotEquals } from "../support/assert.ts";
import {
  create,
  type DescField,
  type DescMessage,
  equals,
  fromBinary,
  ScalarType,
  toBinary,
} from "@bufbuild/protobuf";
import { file_backup_v1_common } from "@backupy/gen/backup/v1/common_pb.ts";
import { file_backup_v1_agent_to_server } from "@backupy/gen/backup/v1/agent_to_server_pb.ts";
import { file_backup_v1_server_to_agent } from "@backupy/gen/backup/v1/server_to_agent_pb.ts";
import { EnvelopeSchema, file_backup_v1_envelope } from "@backupy/gen/backup/v1/envelope_pb.ts";
import { AckSchema } from "@backupy/gen/backup/v1/agent_to_server_pb.ts";
import { PingSchema } from "@backupy/gen/backup/v1/server_to_agent_pb.ts";

const fromHex = (hex: string) => Uint8Array.fromHex(hex);
const toHex = (bytes: Uint8Array) => bytes.toHex();

/** A non-default value for a scalar type; `seed` varies it between list items. */
function scalarValue(type: ScalarType, seed: number): unknown {
  switch (type) {
    case ScalarType.STRING:
      return `value-${seed}-ü`;
    case ScalarType.BYTES:
      return new Uint8Array([0, 255, seed & 0xff, 0x80]);
    case ScalarType.BOOL:
      return true;
    case ScalarType.FLOAT:
      return 12.5 + seed; // exactly representable as a 32-bit float
    case ScalarType.DOUBLE:
      return 0.1 + seed;
    case ScalarType.UINT64:
    case ScalarType.FIXED64:
      // Above 2^53: proves uint64 keeps all 64 bits.
      return 18_446_744_073_709_551_000n + BigInt(seed);
    case ScalarType.INT64:
    case ScalarType.SINT64:
    case ScalarType.SFIXED64:
      return -9_007_199_254_740_993n - BigInt(seed);
    case ScalarType.UINT32:
    case ScalarType.FIXED32:
      return 4_294_967_000 + seed;
    default:
      return -2_147_483_000 + seed;
  }
}

function fieldValue(field: DescField, seed: number): unknown {
  switch (field.fieldKind) {
    case "scalar":
      return scalarValue(field.scalar, seed);
    case "enum":
      return field.enum.values[field.enum.values.length - 1].number;
    case "message":
      return filled(field.message);
    case "list":
      return [1, 2].map((i) => {
        if (field.listKind === "scalar") return scalarValue(field.scalar, seed + i);
        if (field.listKind === "enum") return field.enum.values[i].number;
        return filled(field.message);
      });
    case "map": {
      const entries: Record<string, unknown> = {};
      for (const i of [1, 2]) {
        const key = `key-${i}`;
        if (field.mapKind === "scalar") entries[key] = scalarValue(field.scalar, seed + i);
        else if (field.mapKind === "enum") entries[key] = field.enum.values[i].number;
        else entries[key] = filled(field.message);
      }
      return entries;
    }
  }
}

/** A message with every field set; oneofs get `oneofChoice` (default: the first member). */
function filled(schema: DescMessage, oneofChoice?: DescField) {
  const init: Record<string, unknown> = {};
  for (const field of schema.fields) {
    if (field.oneof) continue;
    init[field.localName] = fieldValue(field, field.number);
  }
  for (const oneof of schema.oneofs) {
    const member = oneofChoice?.oneof === oneof ? oneofChoice : oneof.fields[0];
    init[oneof.localName] = { case: member.localName, value: fieldValue(member, member.number) };
  }
  return create(schema, init as never);
}

const contractFiles = [
  file_backup_v1_common,
  file_backup_v1_agent_to_server,
  file_backup_v1_server_to_agent,
  file_backup_v1_envelope,
];

function typeName(field: DescField): string {
  if (field.fieldKind === "map") {
    const value = field.mapKind === "scalar"
      ? ScalarType[field.scalar].toLowerCase()
      : field.mapKind === "enum"
      ? field.enum.name
      : field.message.name;
    return `map<${ScalarType[field.mapKey].toLowerCase()},${value}>`;
  }
  const repeated = field.fieldKind === "list" ? "repeated " : "";
  const element = field.message?.name ?? field.enum?.name ??
    ScalarType[field.scalar as ScalarType].toLowerCase();
  return repeated + element;
}

/** The spec's tables (docs/wire-protocol.md section 1), transcribed. */
const specTables: Record<string, string> = {
  JobStatus: "JOB_STATUS_UNSPECIFIED=0 QUEUED=1 RUNNING=2 SUCCESS=3 FAILED=4 CANCELLED=5",
  DbType: "DB_UNSPECIFIED=0 POSTGRESQL=1 MYSQL=2 MARIADB=3 MONGODB=4 REDIS=5 SQLITE=6",
  ConnectionStrategy: "TCP=0 DOCKER_EXEC=1 UNIX_SOCKET=2",
  CheckType: "HTTP=0 HTTPS=1 TCP_CHECK=2",
  LogLevel: "TRACE=0 DEBUG=1 INFO=2 WARN=3 ERROR=4",
  AgentMetrics:
    "1 cpu_percent float, 2 mem_used_bytes uint64, 3 mem_total_bytes uint64, 4 disk_used_bytes uint64, 5 disk_total_bytes uint64, 6 queue_depth uint32",
  PortBinding: "1 container_port uint32, 2 host_port uint32, 3 protocol string",
  S3UploadCreds: "1 presigned_put_url string, 2 expires_at_ms uint64, 3 final_s3_key string",
  S3DownloadCreds: "1 presigned_get_url string, 2 expires_at_ms uint64, 3 s3_key string",
  RetryPolicy: "1 max_attempts uint32, 2 backoff_seconds repeated uint32",
  MaintenanceWindow: "1 start_utc string, 2 end_utc string",
  AdvancedSettings: "1 max_parallel_jobs uint32, 2 log_level string, 3 auto_update_enabled bool",
  Register:
    "1 agent_version string, 2 hostname string, 3 os string, 4 arch string, 5 docker_version string, 6 capabilities repeated string, 7 last_known_config_version uint64",
  Heartbeat: "1 config_version uint64, 2 metrics AgentMetrics, 3 active_job_ids repeated string",
  DiscoveryReport: "1 containers repeated DiscoveredContainer",
  DiscoveredContainer:
    "1 container_id string, 2 name string, 3 image string, 4 detected_db_type string, 5 networks repeated string, 6 env_hints map<string,string>, 7 ports repeated PortBinding",
  JobUpdate:
    "1 job_id string, 2 status JobStatus, 3 progress_percent uint32, 4 current_step string, 5 error_message string, 6 run_id string",
  BackupCompleted:
    "1 job_id string, 2 run_id string, 3 s3_key string, 4 size_bytes uint64, 5 sha256 string, 6 duration_ms uint64, 7 dek_kms_id string, 8 encrypted_dek bytes, 9 compression string, 10 db_engine_version string",
  HealthCheckResult:
    "1 check_id string, 2 ts_ms uint64, 3 ok bool, 4 latency_ms uint32, 5 error string, 6 status_code uint32",
  LogEvent:
    "1 ts_ms uint64, 2 level LogLevel, 3 job_id string, 4 message string, 5 fields map<string,string>",
  RestoreUpdate:
    "1 restore_id string, 2 status JobStatus, 3 progress_percent uint32, 4 current_step string, 5 error_message string",
  Ack: "1 correlation_id string, 2 accepted bool, 3 reason string",
  RegisterAck:
    "1 session_id string, 2 config AgentConfig, 3 heartbeat_interval_sec uint32, 4 server_time_iso string",
  AgentConfig:
    "1 version uint64, 2 targets repeated Target, 3 jobs repeated BackupJobSpec, 4 health_checks repeated HealthCheckSpec, 5 maintenance MaintenanceWindow, 6 advanced AdvancedSettings",
  Target: "1 id string, 2 type DbType, 3 display_name string, 4 connection ConnectionConfig",
  ConnectionConfig:
    "1 host string, 2 port uint32, 3 database string, 4 username string, 5 password_secret_ref string, 6 container_id string, 7 strategy ConnectionStrategy",
  BackupJobSpec:
    "1 id string, 2 target_id string, 3 cron string, 4 retention_days uint32, 5 compression string, 6 encryption_enabled bool, 7 pre_hooks repeated string, 8 post_hooks repeated string, 9 retry RetryPolicy, 10 timeout_sec uint32",
  HealthCheckSpec:
    "1 id string, 2 name string, 3 type CheckType, 4 target string, 5 interval_sec uint32, 6 timeout_sec uint32, 7 expected_status uint32",
  ConfigUpdate: "1 config AgentConfig",
  RunBackup:
    "1 job_id string, 2 run_id string, 3 manual_trigger bool, 4 upload_creds S3UploadCreds, 5 encrypted_dek bytes",
  CancelJob: "1 job_id string",
  RunHealthCheck: "1 check_id string",
  SelfUpdate:
    "1 target_version string, 2 binary_url string, 3 sha256 string, 4 cosign_signature bytes, 5 force bool",
  Ping: "1 ts_ms uint64",
  Envelope:
    "1 seq uint64, 2 ts_ms uint64, 3 correlation_id string, 10 register Register, 11 heartbeat Heartbeat, 12 discovery DiscoveryReport, 13 job_update JobUpdate, 14 backup_completed BackupCompleted, 15 health_result HealthCheckResult, 16 log LogEvent, 17 restore_update RestoreUpdate, 18 ack Ack, 50 register_ack RegisterAck, 51 config_update ConfigUpdate, 52 run_backup RunBackup, 53 cancel_job CancelJob, 54 run_health_check RunHealthCheck, 56 self_update SelfUpdate, 57 ping Ping",
};

Deno.test("every enum, message, field name, number and type is the spec's", () => {
  const actual: Record<string, string> = {};
  for (const file of contractFiles) {
    for (const e of file.enums) {
      actual[e.name] = e.values.map((v) => `${v.name}=${v.number}`).join(" ");
    }
    for (const m of file.messages) {
      actual[m.name] = m.fields.map((f) => `${f.number} ${f.name} ${typeName(f)}`).join(", ");
    }
  }
  assertEquals(actual, specTables);
});

Deno.test("files carry the package, go_package, imports and reserved 55 of the spec", () => {
  for (const file of contractFiles) {
    assertEquals(file.proto.package, "backup.v1");
    assertEquals(file.proto.syntax, "proto3");
    assertEquals(
      file.proto.options?.goPackage,
      "github.com/backupy/backupy/packages/proto/gen/go/backupv1;backupv1",
    );
    assertEquals(file.proto.service.length, 0);
    assertEquals(file.proto.extension.length, 0);
  }
  assertEquals(file_backup_v1_envelope.proto.dependency, [
    "backup/v1/agent_to_server.proto",
    "backup/v1/server_to_agent.proto",
  ]);
  assertEquals(file_backup_v1_agent_to_server.proto.dependency, ["backup/v1/common.proto"]);
  assertEquals(file_backup_v1_server_to_agent.proto.dependency, ["backup/v1/common.proto"]);
  const reserved = EnvelopeSchema.proto.reservedRange.map((r) => [r.start, r.end]);
  assertEquals(reserved, [[55, 56]]); // end is exclusive
  const members = EnvelopeSchema.oneofs.map((o) => o.name);
  assertEquals(members, ["payload"]);
  // RetryPolicy.backoff_seconds is packed (proto3's default for scalars).
  const backoff = file_backup_v1_common.messages.find((m) => m.name === "RetryPolicy")!
    .fields[1];
  assertEquals(backoff.fieldKind === "list" && backoff.packed, true);
});

const allMessages: DescMessage[] = contractFiles.flatMap((file) => file.messages);

for (const schema of allMessages) {
  Deno.test(`${schema.typeName} round-trips with every field set`, () => {
    const choices = schema.oneofs.length > 0 ? schema.oneofs[0].fields : [undefined];
    for (const choice of choices) {
      const message = filled(schema, choice);
      const bytes = toBinary(schema, message);
      const decoded = fromBinary(schema, bytes);
      assertEquals(equals(schema, message, decoded), true, `${choice?.name ?? "no oneof"}`);
      assertEquals(toHex(toBinary(schema, decoded)), toHex(bytes));
      // Every field set means not the default message.
      assertNotEquals(bytes.length, 0);
    }
  });
}

Deno.test("wire vector: server Ping with correlation_id p1", () => {
  const hex = "1a027031ca0300";
  const envelope = fromBinary(EnvelopeSchema, fromHex(hex));
  assertEquals(envelope.correlationId, "p1");
  assertEquals(envelope.payload.case, "ping");
  assertEquals(envelope.seq, 0n);
  const built = create(EnvelopeSchema, {
    correlationId: "p1",
    payload: { case: "ping", value: create(PingSchema) },
  });
  assertEquals(toHex(toBinary(EnvelopeSchema, built)), hex);
});

Deno.test("wire vector: agent Ack reply", () => {
  const hex = "08071080d095ffbc311a0270319201060a0270311001";
  const built = create(EnvelopeSchema, {
    seq: 7n,
    tsMs: 1_700_000_000_000n,
    correlationId: "p1",
    payload: { case: "ack", value: create(AckSchema, { correlationId: "p1", accepted: true }) },
  });
  assertEquals(toHex(toBinary(EnvelopeSchema, built)), hex);
  const decoded = fromBinary(EnvelopeSchema, fromHex(hex));
  assertEquals(equals(EnvelopeSchema, decoded, built), true);
});

Deno.test("wire vector: agent empty Heartbeat keeps oneof presence", () => {
  const hex = "08021080d095ffbc315a00";
  const decoded = fromBinary(EnvelopeSchema, fromHex(hex));
  assertEquals(decoded.payload.case, "heartbeat");
  assertEquals(decoded.seq, 2n);
  assertEquals(decoded.tsMs, 1_700_000_000_000n);
  assertEquals(toHex(toBinary(EnvelopeSchema, decoded)), hex);
});

Deno.test("unknown fields and an unknown oneof tag decode without error", () => {
  const bytes = fromHex(
    "0801" + // seq 1
      "c202027a7a" + // field 40, length-delimited "zz"
      "980605" + // field 99, varint 5
      "d20300", // field 58: an unknown payload tag, empty message
  );
  const decoded = fromBinary(EnvelopeSchema, bytes);
  assertEquals(decoded.seq, 1n);
  assertEquals(decoded.payload.case, undefined);
  // Unknown fields survive a re-encode (a proxy must not lose them).
  assertEquals(toHex(toBinary(EnvelopeSchema, decoded)), toHex(bytes));
});

Deno.test("an unknown enum number decodes as that number", () => {
  // JobUpdate{status: 42} inside an Envelope (tag 13).
  const decoded = fromBinary(EnvelopeSchema, fromHex("6a02102a"));
  if (decoded.payload.case !== "jobUpdate") throw new Error("expected a jobUpdate");
  assertEquals(decoded.payload.value.status as number, 42);
  assertEquals(toHex(toBinary(EnvelopeSchema, decoded)), "6a02102a");
});
