/**
 * A configuration value that breaks a rule. The message names the variable
 * and the rule, never the value (it may be a secret).
 *
 * @module
 */
import { BackupyError } from "../../decrypt/errors.ts";

/** A bad configuration value; the agent stops at start with this one line. */
export class ConfigError extends BackupyError {}
