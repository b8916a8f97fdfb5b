/**
 * zod building blocks for environment variables, shared by ../config.ts and ./control.ts so
 * every variable is read the same way: blank means unset, integers are plain digits within a
 * range (the message names the range and unit), enums are case-insensitive, booleans accept the
 * usual spellings, and checks return one readable problem.
 */
import { z } from "zod";

export const blankToUndefined = (v: unknown) => (typeof v === "string" && v.trim() === "" ? undefined : v);

/** An integer in `min..max`, `def` when unset; optionally a multiple of `multipleOf`. */
export function intVar(min: number, max: number, def: number, unit = "", multipleOf = 1) {
  const range = `an integer ${min}..${max}${unit}`;
  return z.preprocess(
    (v) => blankToUndefined(v) ?? String(def),
    z
      .string()
      .regex(/^\s*\d+\s*$/, { message: `must be ${range}` })
      .transform(Number)
      .pipe(
        z
          .number()
          .min(min, { message: `must be ${range}` })
          .max(max, { message: `must be ${range}` })
          .multipleOf(multipleOf, { message: `must be a multiple of ${multipleOf}` }),
      ),
  ) as unknown as z.ZodType<number>;
}

/** An optional string; `check` returns a problem ("must be ...") or undefined. */
export function optionalString(check?: (v: string) => string | undefined) {
  return z.preprocess(
    blankToUndefined,
    z
      .string()
      .superRefine((v, ctx) => {
        const problem = check?.(v);
        if (problem) ctx.addIssue({ code: "custom", message: problem });
      })
      .optional(),
  ) as unknown as z.ZodType<string | undefined>;
}

/** One of `values` (case-insensitive), `def` when unset. */
export function oneOf<T extends string>(values: readonly T[], def: T) {
  return z.preprocess(
    (v) => (typeof v === "string" && v.trim() !== "" ? v.trim().toLowerCase() : def),
    z.enum(values as [T, ...T[]], { message: `must be one of ${values.join("|")}` }),
  ) as unknown as z.ZodType<T>;
}

/** true/false, 1/0, yes/no, on/off; `def` when unset. */
export function boolVar(def: boolean) {
  return z.preprocess(
    (v) => (typeof v === "string" && v.trim() !== "" ? v.trim().toLowerCase() : String(def)),
    z
      .enum(["true", "false", "1", "0", "yes", "no", "on", "off"], { message: "must be true or false" })
      .transform((v) => v === "true" || v === "1" || v === "yes" || v === "on"),
  ) as unknown as z.ZodType<boolean>;
}
