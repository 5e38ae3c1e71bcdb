/**
 * Why a run was stopped from outside its own work: the reason carried by
 * its AbortSignal, so every layer can tell a cancel from a timeout.
 *
 * @module
 */

/** The kinds of outside stops. */
export type AbortKind = "cancelled" | "timeout" | "stalled" | "shutdown";

/** An AbortSignal reason. */
export class RunAbort extends Error {
  readonly kind: AbortKind;
  constructor(kind: AbortKind, message: string) {
    super(message);
    this.kind = kind;
  }
}
