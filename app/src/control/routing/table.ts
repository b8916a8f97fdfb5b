/**
 * Routing table (ROUTING_TABLE_FILE or inline ROUTING_TABLE, YAML or JSON): which agent, variables and overrides a call
 * gets, by the number called (the ExoPhone), Exotel custom parameters and the local time. Routes
 * are tried in order; the first whose `match` fits wins; a route without `match` fits every call.
 * No route fits: the env defaults apply (ELEVENLABS_AGENT_ID...).
 *
 *   timezone: Asia/Kolkata            # optional, else ROUTING_TIMEZONE
 *   routes:
 *     - name: sales-hi
 *       match: { to: ["+918047491899"], params: { lang: hi }, days: [mon, tue, wed, thu, fri], hours: "09:30-18:00" }
 *       agent_id: agent_sales_hi
 *       dynamic_variables: { team: sales }
 *       overrides: { first_message: "Namaste!", language: hi, voice_id: abc }
 *       required_variables: [customer_name]
 *       sample_rate: 16000            # used in stream URLs the bridge generates
 *       record: true                  # per-route opt out of recordings with false
 *       transfer_numbers: { default: ["+918000000001"], billing: ["+918000000002"] }
 *
 * Validated once at start-up; a problem is a ConfigError naming the file and the field.
 */
import { readFileSync } from "node:fs";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { STREAM_SAMPLE_RATES, type StreamSampleRate } from "../../config/control.js";
import { PHONE, validTimezone } from "../../config/validators.js";
import { ConfigError } from "../../config.js";
import type { ConversationOverrides, DynamicVariables } from "../../elevenlabs/messages.js";
import { agentIdSchema, dynamicVariablesSchema, overridesSchema, variableNameSchema } from "./schemas.js";

const DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"] as const;
type Day = (typeof DAYS)[number];

const HOURS = /^([01][0-9]|2[0-3]):([0-5][0-9])-([01][0-9]|2[0-4]):([0-5][0-9])$/;

const oneOrMany = <T extends z.ZodType>(t: T) => z.union([t, z.array(t).min(1)]);

const phone = z
  .string()
  .transform((s) => s.replace(/[\s-]/g, ""))
  .pipe(z.string().regex(PHONE, { message: "must be a phone number (+ and 6-15 digits)" }));

const routeSchema = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, { message: "must be 1-64 of A-Z a-z 0-9 _ . -" }),
    match: z
      .object({
        to: oneOrMany(phone).optional(),
        params: z
          .record(
            z
              .string()
              .regex(/^[A-Za-z0-9_-]{1,64}$/, { message: "parameter names are 1-64 of A-Z a-z 0-9 _ -" }),
            oneOrMany(z.string().max(256)),
          )
          .optional(),
        days: z
          .array(
            z
              .string()
              .transform((d) => d.trim().toLowerCase().slice(0, 3))
              .pipe(z.enum(DAYS, { message: "days are mon, tue, wed, thu, fri, sat, sun" })),
          )
          .min(1)
          .optional(),
        hours: oneOrMany(
          z
            .string()
            .regex(HOURS, { message: 'must be "HH:MM-HH:MM" (24 h, local time; may wrap past midnight)' }),
        ).optional(),
      })
      .strict()
      .optional(),
    agent_id: agentIdSchema.optional(),
    dynamic_variables: dynamicVariablesSchema.optional(),
    overrides: overridesSchema.optional(),
    required_variables: z.array(variableNameSchema).optional(),
    sample_rate: z
      .number()
      .refine((n) => (STREAM_SAMPLE_RATES as readonly number[]).includes(n), {
        message: `must be one of ${STREAM_SAMPLE_RATES.join(", ")}`,
      })
      .optional() as z.ZodType<StreamSampleRate | undefined>,
    record: z.boolean().optional(),
    transfer_numbers: z
      .record(
        z.string().regex(/^[a-z0-9_-]{1,40}$/, { message: "team names are 1-40 of a-z 0-9 _ -" }),
        oneOrMany(phone),
      )
      .optional(),
  })
  .strict();

const tableSchema = z
  .object({
    timezone: z
      .string()
      .refine(validTimezone, { message: "must be an IANA time zone such as Asia/Kolkata" })
      .optional(),
    routes: z.array(routeSchema),
  })
  .strict();

type RawRoute = z.infer<typeof routeSchema>;

export interface Route {
  readonly name: string;
  readonly agentId: string | undefined;
  readonly dynamicVariables: DynamicVariables | undefined;
  readonly overrides: ConversationOverrides | undefined;
  readonly requiredVariables: readonly string[];
  readonly sampleRate: StreamSampleRate | undefined;
  readonly record: boolean | undefined;
  readonly transferNumbers: Readonly<Record<string, readonly string[]>> | undefined;
  readonly match: {
    readonly to: ReadonlySet<string> | undefined;
    readonly params: ReadonlyArray<readonly [string, readonly string[]]>;
    readonly days: ReadonlySet<Day> | undefined;
    /** Minutes since local midnight, [start, end); end < start wraps past midnight. */
    readonly hours: ReadonlyArray<readonly [number, number]>;
  };
}

export interface RouteQuery {
  /** Number called (the ExoPhone for inbound calls). */
  readonly to: string;
  readonly params: Readonly<Record<string, string>>;
  readonly now: Date;
}

/**
 * Digits only, Indian national forms made international, so `08047491899`, `8047491899`,
 * `+91 80474 91899` and `918047491899` compare equal.
 */
export function normalizeNumber(n: string): string {
  let d = n.replace(/[^0-9]/g, "");
  if (d.startsWith("00")) d = d.slice(2);
  if (d.length === 11 && d.startsWith("0")) d = `91${d.slice(1)}`;
  else if (d.length === 10) d = `91${d}`;
  return d;
}

function minutes(hhmm: string): number {
  const [h, m] = hhmm.split(":").map(Number) as [number, number];
  return h * 60 + m;
}

function toRoute(r: RawRoute): Route {
  const list = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
  const o = r.overrides;
  const overrides: ConversationOverrides | undefined =
    o === undefined
      ? undefined
      : {
          ...(o.first_message !== undefined && { firstMessage: o.first_message }),
          ...(o.language !== undefined && { language: o.language }),
          ...(o.voice_id !== undefined && { voiceId: o.voice_id }),
        };
  const transfer =
    r.transfer_numbers === undefined
      ? undefined
      : Object.fromEntries(Object.entries(r.transfer_numbers).map(([k, v]) => [k, list(v)]));
  return {
    name: r.name,
    agentId: r.agent_id,
    dynamicVariables: r.dynamic_variables,
    overrides,
    requiredVariables: r.required_variables ?? [],
    sampleRate: r.sample_rate,
    record: r.record,
    transferNumbers: transfer,
    match: {
      to: r.match?.to === undefined ? undefined : new Set(list(r.match.to).map(normalizeNumber)),
      params: Object.entries(r.match?.params ?? {}).map(([k, v]) => [k, list(v)] as const),
      days: r.match?.days === undefined ? undefined : new Set(r.match.days),
      hours: list(r.match?.hours).map((w) => {
        const [a, b] = w.split("-") as [string, string];
        return [minutes(a), minutes(b)] as const;
      }),
    },
  };
}

export class RoutingTable {
  private readonly byName: ReadonlyMap<string, Route>;
  private readonly clock: Intl.DateTimeFormat;

  constructor(
    readonly routes: readonly Route[],
    readonly timezone: string,
  ) {
    this.byName = new Map(routes.map((r) => [r.name, r]));
    this.clock = new Intl.DateTimeFormat("en-US", {
      timeZone: timezone,
      weekday: "short",
      hour: "2-digit",
      minute: "2-digit",
      hourCycle: "h23",
    });
  }

  static empty(timezone = "Asia/Kolkata"): RoutingTable {
    return new RoutingTable([], timezone);
  }

  /** Parses and validates a table; throws ConfigError naming `source` and the field at fault. */
  static parse(
    text: string,
    source: string,
    defaultTimezone: string,
    json = false,
    variable = "ROUTING_TABLE_FILE",
  ): RoutingTable {
    const fail = (msg: string): never => {
      throw new ConfigError(`invalid configuration: ${variable}${source ? ` ${source}` : ""}: ${msg}`);
    };
    let raw: unknown;
    try {
      raw = json ? JSON.parse(text) : parseYaml(text);
    } catch (err) {
      fail(`not valid ${json ? "JSON" : "YAML"}: ${((err as Error).message ?? "").split("\n")[0]}`);
    }
    // A bare list of routes is accepted too.
    if (Array.isArray(raw)) raw = { routes: raw };
    const parsed = tableSchema.safeParse(raw);
    if (!parsed.success) {
      const problems = parsed.error.issues.slice(0, 5).map((i) => {
        const at = i.path.map((p) => (typeof p === "number" ? `[${p}]` : `.${String(p)}`)).join("");
        return `${at.replace(/^\./, "") || "(top level)"}: ${i.message}`;
      });
      fail(problems.join("; "));
    }
    const data = parsed.data as z.infer<typeof tableSchema>;
    const seen = new Set<string>();
    for (const [i, r] of data.routes.entries()) {
      if (seen.has(r.name)) fail(`routes[${i}].name: "${r.name}" is used twice`);
      seen.add(r.name);
    }
    return new RoutingTable(data.routes.map(toRoute), data.timezone ?? defaultTimezone);
  }

  static load(file: string, defaultTimezone: string): RoutingTable {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (err) {
      throw new ConfigError(
        `invalid configuration: ROUTING_TABLE_FILE ${file}: cannot be read (${(err as NodeJS.ErrnoException).code ?? "error"})`,
      );
    }
    return RoutingTable.parse(text, file, defaultTimezone, file.toLowerCase().endsWith(".json"));
  }

  /** A table given inline (ROUTING_TABLE: YAML or JSON text), for platforms without files (Cloud Run). */
  static inline(text: string, defaultTimezone: string): RoutingTable {
    return RoutingTable.parse(text, "", defaultTimezone, false, "ROUTING_TABLE");
  }

  get(name: string): Route | undefined {
    return this.byName.get(name);
  }

  /** The first route whose conditions all hold, or undefined. */
  match(q: RouteQuery): Route | undefined {
    if (this.routes.length === 0) return undefined;
    const to = normalizeNumber(q.to);
    const { day, minute } = this.localTime(q.now);
    return this.routes.find((r) => {
      const m = r.match;
      if (m.to !== undefined && !m.to.has(to)) return false;
      for (const [k, values] of m.params) {
        const v = q.params[k];
        if (v === undefined || !values.includes(v)) return false;
      }
      if (m.days !== undefined && !m.days.has(day)) return false;
      if (
        m.hours.length > 0 &&
        !m.hours.some(([a, b]) => (a <= b ? minute >= a && minute < b : minute >= a || minute < b))
      )
        return false;
      return true;
    });
  }

  /** Day of week and minutes since midnight in the table's time zone. */
  localTime(now: Date): { day: Day; minute: number } {
    let day: Day = "sun";
    let hour = 0;
    let minute = 0;
    for (const p of this.clock.formatToParts(now)) {
      if (p.type === "weekday") day = p.value.toLowerCase().slice(0, 3) as Day;
      else if (p.type === "hour") hour = Number(p.value);
      else if (p.type === "minute") minute = Number(p.value);
    }
    return { day, minute: hour * 60 + minute };
  }
}
