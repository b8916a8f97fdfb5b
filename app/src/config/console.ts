/**
 * Environment variables of the live call console: a zod shape merged into the bridge's one schema
 * in ../config.ts, and the builder of the frozen `config.console` section. The console shows
 * numbers and what callers say, so it is closed unless a credential exists: its own
 * (CONSOLE_BASIC_AUTH) or else the one Exotel already uses (EXOTEL_BASIC_AUTH). With neither, or
 * with CONSOLE_ENABLED=false, its paths answer 404 like any unknown path.
 */
import { boolVar, optionalString } from "./env-schema.js";

export interface ConsoleConfig {
  /** `user:password` a browser must present; undefined = console off. */
  readonly basicAuth: string | undefined;
}

export const CONSOLE_ENV = {
  CONSOLE_ENABLED: boolVar(true),
  CONSOLE_BASIC_AUTH: optionalString((v) =>
    /^[^:]+:.+$/.test(v) ? undefined : "must be user:password (both parts non-empty)",
  ),
};

export function consoleConfig(e: {
  readonly CONSOLE_ENABLED: boolean;
  readonly CONSOLE_BASIC_AUTH: string | undefined;
  readonly EXOTEL_BASIC_AUTH: string | undefined;
}): ConsoleConfig {
  return { basicAuth: e.CONSOLE_ENABLED ? (e.CONSOLE_BASIC_AUTH ?? e.EXOTEL_BASIC_AUTH) : undefined };
}
