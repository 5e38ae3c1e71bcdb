/**
 * PostgreSQL's engine names, added to EngineName (engines/shared/engine.ts):
 * the family's modules that spell a name import this file, so the name is
 * known wherever they are type-checked, with or without the registry.
 *
 * @module
 */
declare module "../shared/engine.ts" {
  /** This family's engine names. */
  interface EngineNames {
    postgresql: true;
  }
}

export {};
