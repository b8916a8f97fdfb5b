/**
 * Environment variables of call control (transfer, outbound calls, routing, recordings, shared
 * state): a zod shape merged into the bridge's one schema in ../config.ts, and the builder that
 * turns the parsed values into the frozen `config.control` section. Same rules as the rest of the
 * configuration: every value validated at start-up, every problem reported in one line naming the
 * variable, secrets never echoed.
 */
import { z } from "zod";
import { boolVar as bool, intVar as integer, oneOf, optionalString as optional } from "./env-schema.js";
import { httpUrl, PHONE, validTimezone } from "./validators.js";

/** Sample rates Exotel's Voicebot applet takes in `sample-rate` (infra/config.ts keeps a copy). */
export const STREAM_SAMPLE_RATES = [8000, 16000, 24000] as const;
export type StreamSampleRate = (typeof STREAM_SAMPLE_RATES)[number];

export interface ControlConfig {
  /** `https://host[:port]` the bridge is reachable at (Exotel-facing); stream URLs are derived from it. */
  readonly publicBaseUrl: string | undefined;
  /** `sample-rate` put into stream URLs the bridge generates (dynamic URL, direct outbound calls). */
  readonly streamSampleRate: StreamSampleRate;
  /** When set, `/exotel/*` requests must carry `?token=<this>`. */
  readonly webhookToken: string | undefined;
  readonly toolTimeoutMs: number;
  readonly state: {
    /** Unset: in-process memory (one instance). */
    readonly redisUrl: string | undefined;
    /** PEM CA for a rediss:// URL (REDIS_CA_CERT). */
    readonly redisCaCert: string | undefined;
    readonly keyPrefix: string;
    /** How long per-call state (transfer decisions, outcomes, outbound plans) is kept. */
    readonly ttlMs: number;
    /** A state read or write slower than this is abandoned (calls never wait on a sick store). */
    readonly timeoutMs: number;
  };
  readonly transfer: {
    readonly toolName: string;
    /** Team name (lower case) -> numbers to ring; "default" is the fallback destination. */
    readonly numbers: Readonly<Record<string, readonly string[]>>;
    readonly record: boolean;
    readonly maxRingingS: number;
    /** Connect's `recording_channels`: `dual` keeps caller and human on separate channels. */
    readonly recordingChannels: "single" | "dual";
    /** Connect's `max_conversation_duration` in seconds; 0 leaves Exotel's default. */
    readonly maxConversationS: number;
    /** Ring every number at once (Connect's `parallel_ringing`) instead of one after another. */
    readonly parallelRinging: boolean;
    /** Spoken to both sides as the human answers (Connect's `start_call_playback`), when set. */
    readonly announcement: string | undefined;
    /** Longest the agent may keep talking after asking for a transfer before the stream closes. */
    readonly maxWaitMs: number;
    /** Passthru sends a call whose agent failed to the Connect branch too. */
    readonly onFailure: boolean;
    /** Passthru waits this long for the outcome of a call still finishing. */
    readonly passthruWaitMs: number;
  };
  readonly outbound:
    | {
        readonly bearerToken: string;
        readonly accountSid: string;
        readonly apiKey: string;
        readonly apiToken: string;
        /** `https://api.in.exotel.com` (no trailing slash). */
        readonly apiBaseUrl: string;
        /** The ExoPhone shown to the called party. */
        readonly callerId: string;
        /** Flow mode when set (Url = start_voice/{appId}); direct StreamUrl mode otherwise. */
        readonly appId: string | undefined;
        /** `TimeLimit` sent with every call (s); 0 sends none. A request may set its own. */
        readonly timeLimitS: number;
        /** `Record` default; a request may set its own. */
        readonly record: boolean;
        readonly recordingChannels: "single" | "dual";
        /** Where Exotel posts each call's final status (`StatusCallback`); undefined without PUBLIC_BASE_URL. */
        readonly statusCallbackUrl: string | undefined;
      }
    | undefined;
  readonly routing: {
    readonly file: string | undefined;
    /** The table itself (YAML or JSON text), where a file is awkward (Cloud Run env). */
    readonly inline: string | undefined;
    readonly timezone: string;
  };
  readonly recordings:
    | {
        readonly dir: string;
        readonly bucket: string | undefined;
        readonly prefix: string;
        readonly storageUrl: string;
        readonly metadataHost: string;
        readonly keepLocal: boolean;
      }
    | undefined;
}

const TEAM = /^[a-z0-9_-]{1,40}$/;

/** `default=+91a|+91b,sales=+91c` (a bare list of numbers means the default destination). */
export function parseTransferNumbers(raw: string): Record<string, string[]> | string {
  const out: Record<string, string[]> = Object.create(null);
  for (const part of raw.split(",")) {
    const entry = part.trim();
    if (entry === "") continue;
    const eq = entry.indexOf("=");
    const team = eq < 0 ? "default" : entry.slice(0, eq).trim().toLowerCase();
    const numbers = (eq < 0 ? entry : entry.slice(eq + 1))
      .split("|")
      .map((n) => n.trim().replace(/[\s-]/g, ""))
      .filter(Boolean);
    if (!TEAM.test(team)) return `team "${team}" must be 1-40 of a-z, 0-9, _ and -`;
    if (numbers.length === 0) return `team "${team}" has no number`;
    const bad = numbers.find((n) => !PHONE.test(n));
    if (bad !== undefined) return `"${bad}" is not a phone number (+ and 6-15 digits)`;
    out[team] = [...(out[team] ?? []), ...numbers];
  }
  return out;
}

/** Merged into the bridge's env schema. */
export const CONTROL_ENV = {
  PUBLIC_BASE_URL: optional((v) => httpUrl(v)),
  STREAM_SAMPLE_RATE: z.preprocess(
    (v) => (typeof v === "string" && v.trim() !== "" ? v.trim() : "8000"),
    z
      .enum(STREAM_SAMPLE_RATES.map(String) as [string, ...string[]], {
        message: `must be ${STREAM_SAMPLE_RATES.join(", ")}`,
      })
      .transform(Number),
  ) as unknown as z.ZodType<StreamSampleRate>,
  EXOTEL_WEBHOOK_TOKEN: optional((v) =>
    /^[A-Za-z0-9._~-]{16,200}$/.test(v) ? undefined : "must be 16-200 URL-safe characters",
  ),
  CLIENT_TOOL_TIMEOUT_MS: integer(100, 120_000, 5000, " ms"),
  REDIS_URL: optional((v) => {
    try {
      const u = new URL(v);
      return u.protocol === "redis:" || u.protocol === "rediss:"
        ? undefined
        : "must be redis:// or rediss://";
    } catch {
      return "must be redis://[:password@]host:port or rediss://...";
    }
  }),
  // The CA that signs the Redis server's certificate (Memorystore's per-instance CA when in-transit
  // encryption is on), PEM; with a rediss:// REDIS_URL. Without it, rediss:// trusts Node's public CAs.
  REDIS_CA_CERT: optional((v) =>
    v.includes("-----BEGIN CERTIFICATE-----") ? undefined : "must be PEM (-----BEGIN CERTIFICATE-----)",
  ),
  REDIS_KEY_PREFIX: optional((v) =>
    /^[A-Za-z0-9:_.-]{1,64}$/.test(v) ? undefined : "must be 1-64 of A-Z a-z 0-9 : _ . -",
  ),
  CALL_STATE_TTL_S: integer(60, 7 * 24 * 3600, 7200, " s"),
  STATE_TIMEOUT_MS: integer(50, 30_000, 1000, " ms"),
  TRANSFER_TOOL_NAME: optional((v) =>
    /^[A-Za-z0-9_-]{1,64}$/.test(v) ? undefined : "must be a tool name (letters, digits, _ and -)",
  ),
  TRANSFER_NUMBERS: optional((v) => {
    const parsed = parseTransferNumbers(v);
    return typeof parsed === "string" ? parsed : undefined;
  }),
  TRANSFER_RECORD: bool(true),
  TRANSFER_MAX_RINGING_S: integer(5, 300, 45, " s"),
  TRANSFER_MAX_WAIT_MS: integer(0, 120_000, 15_000, " ms"),
  TRANSFER_ON_FAILURE: bool(false),
  TRANSFER_RECORDING_CHANNELS: oneOf(["single", "dual"] as const, "dual"),
  TRANSFER_MAX_CONVERSATION_S: integer(0, 14_400, 0, " s"),
  TRANSFER_PARALLEL_RINGING: bool(false),
  TRANSFER_ANNOUNCEMENT: optional((v) =>
    v.length <= 300 && /^[^\p{Cc}]*$/u.test(v) ? undefined : "must be one line of at most 300 characters",
  ),
  OUTBOUND_TIME_LIMIT_S: integer(0, 14_400, 0, " s"),
  OUTBOUND_RECORD: bool(false),
  OUTBOUND_RECORDING_CHANNELS: oneOf(["single", "dual"] as const, "dual"),
  PASSTHRU_WAIT_MS: integer(0, 20_000, 3000, " ms"),
  CALLS_API_TOKEN: optional((v) =>
    /^[\x21-\x7e]{16,512}$/.test(v) ? undefined : "must be 16-512 printable characters without spaces",
  ),
  EXOTEL_ACCOUNT_SID: optional((v) =>
    /^[A-Za-z0-9_-]{1,64}$/.test(v) ? undefined : "must be an account SID",
  ),
  EXOTEL_API_KEY: optional((v) => (/^[\x21-\x7e]{1,256}$/.test(v) ? undefined : "must not contain spaces")),
  EXOTEL_API_TOKEN: optional((v) => (/^[\x21-\x7e]{1,256}$/.test(v) ? undefined : "must not contain spaces")),
  EXOTEL_SUBDOMAIN: optional((v) =>
    /^[a-z0-9.-]+\.[a-z]{2,}$/i.test(v) ? undefined : "must be a host name such as api.in.exotel.com",
  ),
  EXOTEL_API_BASE_URL: optional((v) => httpUrl(v)),
  EXOTEL_CALLER_ID: optional((v) => (PHONE.test(v) ? undefined : "must be a phone number (your ExoPhone)")),
  EXOTEL_APP_ID: optional((v) => (/^[0-9]{1,20}$/.test(v) ? undefined : "must be a numeric flow (app) id")),
  ROUTING_TABLE_FILE: optional(),
  ROUTING_TABLE: optional(),
  ROUTING_TIMEZONE: optional((v) =>
    validTimezone(v) ? undefined : "must be an IANA time zone such as Asia/Kolkata",
  ),
  RECORDINGS_DIR: optional(),
  RECORDINGS_BUCKET: optional((v) =>
    /^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$/.test(v) ? undefined : "must be a Cloud Storage bucket name",
  ),
  RECORDINGS_PREFIX: optional((v) =>
    /^[A-Za-z0-9!_.*'()/-]{0,200}$/.test(v) && !v.startsWith("/")
      ? undefined
      : "must be a plain object-name prefix",
  ),
  RECORDINGS_STORAGE_URL: optional((v) => httpUrl(v)),
  RECORDINGS_KEEP_LOCAL: bool(false),
  GCE_METADATA_HOST: optional((v) =>
    /^[A-Za-z0-9.-]+(:[0-9]{1,5})?$/.test(v) ? undefined : "must be host[:port]",
  ),
} as const;

/**
 * Variables that put call control to work through Exotel's applets (Passthru, Connect, dynamic
 * URL), so that the `/exotel/*` routes answer with something worth protecting.
 */
const EXOTEL_ROUTE_VARS = [
  "TRANSFER_NUMBERS",
  "TRANSFER_ON_FAILURE",
  "PUBLIC_BASE_URL",
  "CALLS_API_TOKEN",
  "ROUTING_TABLE",
  "ROUTING_TABLE_FILE",
  "REDIS_URL",
] as const;

type ControlEnv = { [K in keyof typeof CONTROL_ENV]: z.infer<(typeof CONTROL_ENV)[K]> };

/** Variables whose values are never shown in configuration errors. */
export const SECRET_ENV = new Set([
  "EXOTEL_WEBHOOK_TOKEN",
  "CALLS_API_TOKEN",
  "EXOTEL_API_KEY",
  "EXOTEL_API_TOKEN",
  "REDIS_URL",
]);

/**
 * The URL Exotel posts a placed call's final status to: `/exotel/status` with the same credential
 * as the applets (the token in the query, else the Basic credential in the URL, which HTTP clients
 * send as an Authorization header). Undefined when Exotel cannot reach the bridge (no public URL).
 */
function statusCallbackUrl(
  base: string | undefined,
  token: string | undefined,
  basic: string | undefined,
): string | undefined {
  if (base === undefined) return undefined;
  if (token !== undefined) return `${base}/exotel/status?token=${encodeURIComponent(token)}`;
  if (basic === undefined) return undefined;
  const u = new URL(`${base}/exotel/status`);
  const colon = basic.indexOf(":");
  u.username = encodeURIComponent(basic.slice(0, colon));
  u.password = encodeURIComponent(basic.slice(colon + 1));
  return u.toString();
}

/** Cross-variable checks and the frozen section; problems are appended to `problems`. */
export function controlConfig(
  e: ControlEnv,
  context: { readonly basicAuth: string | undefined; readonly tmpDir: string },
  problems: string[],
): ControlConfig {
  const publicBaseUrl = e.PUBLIC_BASE_URL?.replace(/\/+$/, "");
  // The /exotel/* routes hand out transfer numbers, transfer decisions and stream URLs carrying the
  // Basic credential and a plan's token: with call control on, they are never open.
  const using = EXOTEL_ROUTE_VARS.filter((k) => e[k] !== undefined && e[k] !== false);
  if (using.length > 0 && e.EXOTEL_WEBHOOK_TOKEN === undefined && context.basicAuth === undefined) {
    problems.push(
      `EXOTEL_WEBHOOK_TOKEN or EXOTEL_BASIC_AUTH is required with ${using.join(", ")} ` +
        "(call control's /exotel/* routes always need a credential)",
    );
  }

  let outbound: ControlConfig["outbound"];
  if (e.CALLS_API_TOKEN !== undefined) {
    const missing = (
      ["EXOTEL_ACCOUNT_SID", "EXOTEL_API_KEY", "EXOTEL_API_TOKEN", "EXOTEL_CALLER_ID"] as const
    ).filter((k) => e[k] === undefined);
    if (missing.length > 0)
      problems.push(`${missing.join(", ")} required when CALLS_API_TOKEN is set (outbound calls)`);
    if (e.EXOTEL_APP_ID === undefined && publicBaseUrl === undefined)
      problems.push(
        "EXOTEL_APP_ID (flow mode) or PUBLIC_BASE_URL (direct stream mode) required when CALLS_API_TOKEN is set",
      );
    outbound = {
      bearerToken: e.CALLS_API_TOKEN,
      accountSid: e.EXOTEL_ACCOUNT_SID ?? "",
      apiKey: e.EXOTEL_API_KEY ?? "",
      apiToken: e.EXOTEL_API_TOKEN ?? "",
      apiBaseUrl: (e.EXOTEL_API_BASE_URL ?? `https://${e.EXOTEL_SUBDOMAIN ?? "api.in.exotel.com"}`).replace(
        /\/+$/,
        "",
      ),
      callerId: e.EXOTEL_CALLER_ID ?? "",
      appId: e.EXOTEL_APP_ID,
      timeLimitS: e.OUTBOUND_TIME_LIMIT_S,
      record: e.OUTBOUND_RECORD,
      recordingChannels: e.OUTBOUND_RECORDING_CHANNELS,
      statusCallbackUrl: statusCallbackUrl(publicBaseUrl, e.EXOTEL_WEBHOOK_TOKEN, context.basicAuth),
    };
  }

  if (e.REDIS_CA_CERT !== undefined && !e.REDIS_URL?.startsWith("rediss:"))
    problems.push("REDIS_CA_CERT needs a rediss:// REDIS_URL (TLS)");

  if (e.ROUTING_TABLE_FILE !== undefined && e.ROUTING_TABLE !== undefined)
    problems.push("ROUTING_TABLE_FILE and ROUTING_TABLE are both set: use one");

  const numbers = e.TRANSFER_NUMBERS === undefined ? {} : parseTransferNumbers(e.TRANSFER_NUMBERS);
  const recordingsOn = e.RECORDINGS_DIR !== undefined || e.RECORDINGS_BUCKET !== undefined;

  return {
    publicBaseUrl,
    streamSampleRate: e.STREAM_SAMPLE_RATE,
    webhookToken: e.EXOTEL_WEBHOOK_TOKEN,
    toolTimeoutMs: e.CLIENT_TOOL_TIMEOUT_MS,
    state: {
      redisUrl: e.REDIS_URL,
      redisCaCert: e.REDIS_CA_CERT,
      keyPrefix: e.REDIS_KEY_PREFIX ?? "exotel-bridge:",
      ttlMs: e.CALL_STATE_TTL_S * 1000,
      timeoutMs: e.STATE_TIMEOUT_MS,
    },
    transfer: {
      toolName: e.TRANSFER_TOOL_NAME ?? "transfer_to_human",
      numbers: typeof numbers === "string" ? {} : numbers,
      record: e.TRANSFER_RECORD,
      maxRingingS: e.TRANSFER_MAX_RINGING_S,
      recordingChannels: e.TRANSFER_RECORDING_CHANNELS,
      maxConversationS: e.TRANSFER_MAX_CONVERSATION_S,
      parallelRinging: e.TRANSFER_PARALLEL_RINGING,
      announcement: e.TRANSFER_ANNOUNCEMENT,
      maxWaitMs: e.TRANSFER_MAX_WAIT_MS,
      onFailure: e.TRANSFER_ON_FAILURE,
      passthruWaitMs: e.PASSTHRU_WAIT_MS,
    },
    outbound,
    routing: {
      file: e.ROUTING_TABLE_FILE,
      inline: e.ROUTING_TABLE,
      timezone: e.ROUTING_TIMEZONE ?? "Asia/Kolkata",
    },
    recordings: recordingsOn
      ? {
          // Cloud Run's disk is memory: with a bucket, the local file is only a staging copy.
          dir: e.RECORDINGS_DIR ?? `${context.tmpDir}/exotel-bridge-recordings`,
          bucket: e.RECORDINGS_BUCKET,
          prefix: e.RECORDINGS_PREFIX ?? "",
          storageUrl: (e.RECORDINGS_STORAGE_URL ?? "https://storage.googleapis.com").replace(/\/+$/, ""),
          metadataHost: e.GCE_METADATA_HOST ?? "metadata.google.internal",
          keepLocal: e.RECORDINGS_BUCKET === undefined || e.RECORDINGS_KEEP_LOCAL,
        }
      : undefined,
  };
}
