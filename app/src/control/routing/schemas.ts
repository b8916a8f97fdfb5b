/**
 * zod shapes shared by everything that accepts per-call agent settings from outside (the routing
 * table, POST /calls): agent ids, dynamic variables and the overrides a call may ask for. One
 * definition, so both accept and refuse exactly the same things.
 */
import { z } from "zod";
import {
  AGENT_ID,
  AGENT_ID_PROBLEM,
  LANGUAGE,
  LANGUAGE_PROBLEM,
  VAR_NAME,
  VOICE_ID,
  VOICE_ID_PROBLEM,
} from "../../config/validators.js";

export const agentIdSchema = z.string().regex(AGENT_ID, { message: AGENT_ID_PROBLEM });

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
    language: z.string().regex(LANGUAGE, { message: LANGUAGE_PROBLEM }).optional(),
    voice_id: z.string().regex(VOICE_ID, { message: VOICE_ID_PROBLEM }).optional(),
  })
  .strict();
