/**
 * Server commands and their Acks (docs/wire-protocol.md section 4): every
 * message with a non-empty correlation_id gets exactly one Ack, accepted or
 * not with a human-readable reason.
 *
 * @module
 */
import { create } from "@bufbuild/protobuf";
import { AckSchema } from "@backupy/gen/backup/v1/agent_to_server_pb.ts";
import type { Envelope } from "@backupy/gen/backup/v1/envelope_pb.ts";
import type { Logger } from "../log/logger.ts";
import type { AppliedConfig } from "../state/applied_config.ts";

/** What the dispatcher drives. */
export interface DispatchTargets {
  log: Logger;
  config: AppliedConfig;
  /** Sends a direct (non-outbox) message. */
  send(payload: Envelope["payload"], correlationId: string): void;
  runBackup(command: Extract<Envelope["payload"], { case: "runBackup" }>["value"]): {
    accepted: boolean;
    reason: string;
  };
  cancelJob(jobId: string): number;
  /** Runs a health check now; false when it is unknown. */
  runHealthCheck(checkId: string): Promise<boolean> | boolean;
  /**
   * Checks, downloads and verifies a self-update, then starts the handoff;
   * resolves to the Ack's verdict.
   */
  selfUpdate(
    command: Extract<Envelope["payload"], { case: "selfUpdate" }>["value"],
  ): Promise<{ accepted: boolean; reason: string }>;
}

/** A function that handles one inbound envelope. */
export type Dispatcher = (envelope: Envelope) => void;

/** Builds the dispatcher. */
export function createDispatcher(t: DispatchTargets): Dispatcher {
  return (envelope) => {
    const correlationId = envelope.correlationId;
    const ack = (accepted: boolean, reason = "") => {
      if (correlationId === "") return;
      t.send(
        { case: "ack", value: create(AckSchema, { correlationId, accepted, reason }) },
        correlationId,
      );
    };
    const payload = envelope.payload;
    try {
      switch (payload.case) {
        case "ping":
          return ack(true);
        case "configUpdate": {
          const config = payload.value.config;
          if (!config) return ack(false, "config_update without a config");
          if (!t.config.offer(config)) {
            t.log.info("ignored an older config", {
              offered: config.version,
              applied: t.config.version,
            });
            return ack(
              false,
              `config version ${config.version} is older than the applied ${t.config.version}`,
            );
          }
          t.log.info("config applied", { version: config.version });
          return ack(true);
        }
        case "runBackup": {
          const result = t.runBackup(payload.value);
          return ack(result.accepted, result.reason);
        }
        case "cancelJob": {
          const count = t.cancelJob(payload.value.jobId);
          return ack(
            true,
            count === 0 ? "no run of that job is in progress" : `${count} run(s) cancelled`,
          );
        }
        case "runHealthCheck": {
          const checkId = payload.value.checkId;
          void Promise.resolve(t.runHealthCheck(checkId)).then((known) => {
            ack(known, known ? "" : `unknown check_id ${JSON.stringify(checkId)}`);
          });
          return;
        }
        case "selfUpdate": {
          void t.selfUpdate(payload.value).then(
            ({ accepted, reason }) => {
              if (!accepted) t.log.warn("self-update refused", { reason });
              ack(accepted, reason);
            },
            (error) => ack(false, `self-update failed: ${(error as Error).message}`),
          );
          return;
        }
        case undefined:
          t.log.info("ignored a message with an unknown payload");
          return ack(false, "unknown payload: this agent does not understand it");
        default:
          t.log.debug("ignored an agent-to-server payload from the server", {
            payload: payload.case,
          });
          return ack(false, `unexpected payload ${payload.case}`);
      }
    } catch (error) {
      t.log.error("command failed", { payload: payload.case, error });
      ack(false, `malformed command: ${(error as Error).message}`);
    }
  };
}
