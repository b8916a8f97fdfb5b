/**
 * zod shapes shared by everything that accepts per-call agent settings from outside (the routing
 * table, POST /calls): agent ids, dynamic variables and the overrides a call may ask for. One
 * definition, so both accept and refuse exactly the same things.
 */
import { z } from "zod";

/** ElevenLabs dynamic-variable names as their prompts reference them: `{{customer_name}}`. */
export const VAR_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

export const agentIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,128}$/, { message: "must be an agent id (letters, digits, _ and -)" });

export const variableNameSchema = z
  .string()
  .regex(VAR_NAME, { message: "variable names are letters, digits and _" });

export const dynamicVariablesSchema = z
  .record(variableNameSchema, z.union([z.string().max(4096), z.number(), z.boolean()]))
  .refine((v) => Object.keys(v).length <= 100, { message: "at most 100 variables" });

/** Only what an agent's Security settings can enable per call; anything else is refused. */
export const overridesSchema = z
  .object({
    first_message: z.string().max(4096).optional(),
    language: z
      .string()
      .regex(/^[a-z]{2,3}(-[A-Za-z]{2,4})?$/, { message: "must be a language code such as hi or en" })
      .optional(),
    voice_id: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,64}$/, { message: "must be a voice id" })
      .optional(),
  })
  .strict();

/** An IANA time zone this Node.js knows (`Asia/Kolkata`). */
export function validTimezone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}
