/**
 * The configuration the server sent (targets, jobs, health checks, advanced
 * settings), persisted sealed: it holds database passwords. A config is
 * applied only when its version is not older than the applied one
 * (docs/wire-protocol.md section 4).
 *
 * @module
 */
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import {
  type AgentConfig,
  AgentConfigSchema,
  type BackupJobSpec,
  type Target,
} from "@backupy/gen/backup/v1/server_to_agent_pb.ts";
import type { StateStore } from "./state_store.ts";

const KEY = "config";

/** The applied config, and who wants to hear about a new one. */
export class AppliedConfig {
  readonly #store: StateStore;
  #config: AgentConfig;
  readonly #listeners = new Set<(config: AgentConfig) => void>();

  /** Loads the applied config from `store` (empty, version 0, when none). */
  constructor(store: StateStore) {
    this.#store = store;
    const sealed = store.getSealed(KEY);
    this.#config = sealed ? fromBinary(AgentConfigSchema, sealed) : create(AgentConfigSchema);
  }

  /** The applied config. */
  get current(): AgentConfig {
    return this.#config;
  }

  /** Its version (0 when none was ever applied). */
  get version(): bigint {
    return this.#config.version;
  }

  /**
   * Applies and persists `config` when its version is >= the applied one;
   * returns false (and changes nothing) for an older version.
   */
  offer(config: AgentConfig): boolean {
    if (config.version < this.#config.version) return false;
    this.#store.putSealed(KEY, toBinary(AgentConfigSchema, config));
    this.#config = config;
    for (const listener of this.#listeners) listener(config);
    return true;
  }

  /** Calls `listener` after each applied config; returns an unsubscribe. */
  onChange(listener: (config: AgentConfig) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** A job by id. */
  job(jobId: string): BackupJobSpec | undefined {
    return this.#config.jobs.find((job) => job.id === jobId);
  }

  /** A target by id. */
  target(targetId: string): Target | undefined {
    return this.#config.targets.find((target) => target.id === targetId);
  }
}
