/**
 * The states of the control connection, as the session reports them and
 * the `backupy_agent_connection_state` metric names them.
 *
 * @module
 */

/** Connection states, as the metric names them. */
export type ConnectionState = "connected" | "reconnecting" | "disconnected";
