/**
 * Configuration from the environment (and `.env` when present, loaded by main.ts), validated once
 * at start-up with every problem reported in one line, then frozen. This module composes the two
 * sections: the bridge's own variables (below) and call control's (./config/control.ts); checks both
 * share live in ./config/validators.ts. Variable names are fixed (deploy scripts, infra/config.ts and
 * operators depend on them; test/app/config-infra-parity.test.ts holds infra's copies to them); the
 * original Python bridge's knobs keep working (`BRIDGE_PORT`, `CHUNK_SIZE` in bytes at 8 kHz,
 * `ELEVENLABS_REGION`, `LOG_LEVEL`).
 */
import { tmpdir } from "node:os";
import { z } from "zod";
import { ANALYSIS_ENV, ANALYSIS_SECRET_ENV, type AnalysisConfig, analysisConfig } from "./config/analysis.js";
// Live call console (config/console.ts).
import { CONSOLE_ENV, type ConsoleConfig, consoleConfig } from "./config/console.js";
import { CONTROL_ENV, type ControlConfig, controlConfig, SECRET_ENV } from "./config/control.js";
import { blankToUndefined, intVar as int, oneOf, optionalString } from "./config/env-schema.js";
import {
  AGENT_ID,
  AGENT_ID_PROBLEM,
  agentIdList,
  httpUrl,
  LANGUAGE,
  LANGUAGE_PROBLEM,
  VOICE_ID,
  VOICE_ID_PROBLEM,
} from "./config/validators.js";
import { REGION_HOSTS } from "./elevenlabs/hosts.js";
import { type McpApprovalPolicy, parseMcpApprovalPolicy } from "./elevenlabs/mcp-approval.js";
import type { ConversationOverrides } from "./elevenlabs/messages.js";
// ---- HTTP surface, access and log privacy: imports ----
import type { LogFormat } from "./log.js";
import { parseCidr } from "./net.js";
import {
  NUMBER_LOG_MODES,
  type NumberLogMode,
  type PrivacySettings,
  TRANSCRIPT_LOG_MODES,
  type TranscriptLogMode,
} from "./privacy.js";
// ---- end HTTP surface, access and log privacy ----

export type DtmfMode = "user_message" | "contextual_update" | "off";

export interface Config {
  readonly port: number;
  readonly host: string;
  readonly agent: {
    readonly defaultAgentId: string;
    readonly apiKey: string | undefined;
    readonly region: keyof typeof REGION_HOSTS;
    readonly baseUrl: string | undefined;
    /** `"*"` allows any agent_id from the call; otherwise exactly these (plus the default). */
    readonly allowedAgentIds: "*" | ReadonlySet<string>;
    readonly overrides: ConversationOverrides;
    /** Answer to MCP tool calls awaiting approval (a phone caller cannot approve): deny by default. */
    readonly mcpApproval: McpApprovalPolicy;
  };
  readonly exotel: {
    /** `key:token` expected in the upgrade's Basic auth; undefined disables the check. */
    readonly basicAuth: string | undefined;
    /** Caller IP ranges allowed to open a stream; undefined allows any. */
    readonly allowedCidrs: readonly string[] | undefined;
    /** Proxies in front of the bridge whose X-Forwarded-For entries are trusted (Cloud Run: 1). */
    readonly trustedProxyHops: number;
  };
  readonly audio: {
    /** Target frame to Exotel in bytes at 8 kHz (scaled to the stream rate). */
    readonly chunkBytesAt8k: number;
    /** Max audio queued at Exotel ahead of real time. */
    readonly playoutLeadMs: number;
    /** Agent silent this long = end of response: flush the padded tail. */
    readonly tailFlushMs: number;
    readonly resamplerQuality: number;
  };
  readonly dtmf: {
    readonly mode: DtmfMode;
    /** Digits are sent after `#` or after this pause. */
    readonly flushMs: number;
  };
  readonly limits: {
    readonly maxConcurrentCalls: number;
    readonly startTimeoutMs: number;
    readonly agentConnectTimeoutMs: number;
    readonly maxCallDurationMs: number;
    readonly callerSilenceTimeoutMs: number;
    readonly drainTimeoutMs: number;
    /** After the agent ends, how long queued audio may keep playing before we close Exotel. */
    readonly closePlayoutMaxMs: number;
    readonly exotelMaxMessageBytes: number;
    readonly agentMaxMessageBytes: number;
    /** Agent audio buffered in the bridge beyond this ends the call (a runaway or stuck pipeline). */
    readonly maxBufferedAudioMs: number;
    /** A socket with more than this many bytes unsent is a stuck peer: its call ends. */
    readonly maxSocketBufferBytes: number;
  };
  readonly log: {
    readonly level: string;
    readonly callLogDir: string | undefined;
  };
  /** Call control: transfer, outbound calls, routing, recordings, shared state (config/control.ts). */
  readonly control: ControlConfig;
  // ---- HTTP surface, access and log privacy: fields ----
  readonly access: {
    /** Bearer token for /metrics and /health/details; undefined = nobody gets them with a credential. */
    readonly adminToken: string | undefined;
    /** Resolved client addresses that may read /metrics without a credential (an in-instance collector). */
    readonly metricsAllowedCidrs: readonly string[] | undefined;
  };
  readonly http: {
    /** A whole ordinary request (headers and body) must arrive within this; upgrades are exempt. */
    readonly requestTimeoutMs: number;
    /** Open TCP connections at once, calls included; beyond it new connections are closed at once. */
    readonly maxConnections: number;
  };
  readonly privacy: PrivacySettings;
  readonly logFormat: LogFormat;
  // ---- end HTTP surface, access and log privacy ----
  /** Live call console at /console (config/console.ts). */
  readonly console: ConsoleConfig;
  /** ElevenLabs post-call webhook (config/analysis.ts). */
  readonly analysis: AnalysisConfig;
}

type Env = Record<string, string | undefined>;

/** pino levels `LOG_LEVEL` accepts (infra/config.ts keeps a copy; a test holds the two equal). */
export const LOG_LEVELS = ["trace", "debug", "info", "warn", "error", "fatal", "silent"] as const;

const schema = z.object({
  // 0 = any free port (tests). PORT is optional: only Cloud Run and similar set it.
  PORT: z.preprocess(
    blankToUndefined,
    z
      .string()
      .regex(/^\s*\d+\s*$/, { message: "must be an integer 0..65535" })
      .transform(Number)
      .pipe(z.number().max(65535, { message: "must be an integer 0..65535" }))
      .optional(),
  ) as unknown as z.ZodType<number | undefined>,
  BRIDGE_PORT: int(0, 65535, 10002),
  BRIDGE_HOST: optionalString(),
  ELEVENLABS_AGENT_ID: z.preprocess(
    blankToUndefined,
    z
      .string({ message: "is required (the default ElevenLabs agent id)" })
      .regex(AGENT_ID, { message: AGENT_ID_PROBLEM }),
  ),
  ELEVENLABS_API_KEY: optionalString((v) => (/\s/.test(v) ? "must not contain whitespace" : undefined)),
  ELEVENLABS_REGION: oneOf(Object.keys(REGION_HOSTS) as (keyof typeof REGION_HOSTS)[], "default"),
  ELEVENLABS_BASE_URL: optionalString((v) => httpUrl(v, { noun: "origin" })),
  ELEVENLABS_ALLOWED_AGENT_IDS: optionalString(agentIdList),
  ELEVENLABS_FIRST_MESSAGE: z.string().optional(),
  ELEVENLABS_LANGUAGE: optionalString((v) => (LANGUAGE.test(v) ? undefined : LANGUAGE_PROBLEM)),
  ELEVENLABS_PROMPT: optionalString(),
  ELEVENLABS_VOICE_ID: optionalString((v) => (VOICE_ID.test(v) ? undefined : VOICE_ID_PROBLEM)),
  // ---- MCP tool approval ----
  ELEVENLABS_MCP_APPROVAL: optionalString((v) => {
    const policy = parseMcpApprovalPolicy(v);
    return typeof policy === "string" ? policy : undefined;
  }),
  // ---- end MCP tool approval ----
  EXOTEL_BASIC_AUTH: optionalString((v) =>
    /^[^:]+:.+$/.test(v) ? undefined : "must be key:token (both parts non-empty)",
  ),
  EXOTEL_ALLOWED_CIDRS: optionalString((v) => {
    const bad = v
      .split(",")
      .map((c) => c.trim())
      .filter((c) => c !== "" && parseCidr(c) === undefined);
    return bad.length > 0 ? `has invalid CIDR ranges: ${bad.join(" ")}` : undefined;
  }),
  TRUSTED_PROXY_HOPS: int(0, 10, 0),
  LOG_LEVEL: oneOf(LOG_LEVELS, "info"),
  CALL_LOG_DIR: optionalString(),
  CHUNK_SIZE: int(3200, 100_000, 3200, " bytes at 8 kHz", 320),
  PLAYOUT_LEAD_MS: int(200, 5000, 400, " ms"),
  TAIL_FLUSH_MS: int(20, 2000, 80, " ms"),
  // speexdsp quality 3: imaging/aliasing about -95/-85 dB for 8k<->16k (the tests demand < -40 dB),
  // about 15% less bridge CPU than 5 on the resampling path at 500 calls.
  RESAMPLER_QUALITY: int(0, 10, 3),
  DTMF_MODE: oneOf(["user_message", "contextual_update", "off"] as const, "user_message"),
  DTMF_FLUSH_MS: int(100, 30_000, 1500, " ms"),
  MAX_CONCURRENT_CALLS: int(1, 100_000, 500),
  START_TIMEOUT_MS: int(500, 120_000, 10_000, " ms"),
  AGENT_CONNECT_TIMEOUT_MS: int(500, 60_000, 8000, " ms"),
  MAX_CALL_DURATION_S: int(10, 24 * 3600, 3600, " s"),
  CALLER_SILENCE_TIMEOUT_MS: int(1000, 3_600_000, 20_000, " ms"),
  DRAIN_TIMEOUT_MS: int(0, 3_600_000, 8000, " ms"),
  CLOSE_PLAYOUT_MAX_MS: int(0, 120_000, 20_000, " ms"),
  EXOTEL_MAX_MESSAGE_BYTES: int(4096, 64 * 1024 * 1024, 512 * 1024, " bytes"),
  AGENT_MAX_MESSAGE_BYTES: int(4096, 64 * 1024 * 1024, 4 * 1024 * 1024, " bytes"),
  MAX_BUFFERED_AUDIO_MS: int(1000, 3_600_000, 120_000, " ms"),
  MAX_SOCKET_BUFFER_BYTES: int(16 * 1024, 256 * 1024 * 1024, 4 * 1024 * 1024, " bytes"),
  ...CONTROL_ENV,
  // ---- HTTP surface, access and log privacy: variables ----
  ADMIN_TOKEN: optionalString((v) =>
    /^[\x21-\x7e]{16,512}$/.test(v) ? undefined : "must be 16 or more printable characters without spaces",
  ),
  METRICS_ALLOWED_CIDRS: optionalString((v) => {
    const bad = v
      .split(",")
      .map((c) => c.trim())
      .filter((c) => c !== "" && parseCidr(c) === undefined);
    return bad.length > 0 ? `has invalid CIDR ranges: ${bad.join(" ")}` : undefined;
  }),
  HTTP_REQUEST_TIMEOUT_MS: int(1000, 600_000, 30_000, " ms"),
  // 0 = derived from MAX_CONCURRENT_CALLS (every call holds one connection) plus room for the rest.
  MAX_CONNECTIONS: int(0, 1_000_000, 0),
  LOG_CALLER_NUMBERS: oneOf<NumberLogMode>(NUMBER_LOG_MODES, "masked"),
  LOG_TRANSCRIPTS: oneOf<TranscriptLogMode>(TRANSCRIPT_LOG_MODES, "off"),
  LOG_FORMAT: oneOf<LogFormat>(["auto", "json", "pretty"], "auto"),
  // ---- end HTTP surface, access and log privacy ----
  // Live call console (config/console.ts).
  ...CONSOLE_ENV,
  ...ANALYSIS_ENV,
});

/** Every variable the bridge reads (infra's MANAGED_ENV and `bridgeEnv` must name only these). */
export const ENV_NAMES: ReadonlySet<string> = new Set(Object.keys(schema.shape));

/** Variables whose values are never echoed in a configuration error. */
export function isSecretEnv(name: string): boolean {
  return (
    name.includes("KEY") ||
    name.includes("AUTH") ||
    name.includes("TOKEN") ||
    SECRET_ENV.has(name) ||
    ANALYSIS_SECRET_ENV.has(name)
  );
}

/** Connections beyond the calls: probes, scrapes, call control, and refusals in flight. */
const EXTRA_CONNECTIONS = 256;

export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

/** Parses and validates; throws one ConfigError naming every bad variable. */
export function loadConfig(env: Env = process.env): Config {
  const parsed = schema.safeParse(env);
  const problems: string[] = [];
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const name = String(issue.path[0] ?? "?");
      const got = env[name];
      const shown = got === undefined || isSecretEnv(name) ? "" : ` (got "${got}")`;
      problems.push(`${name} ${issue.message}${shown}`);
    }
    throw new ConfigError(`invalid configuration: ${problems.join("; ")}`);
  }
  const e = parsed.data;
  const frameMs = e.CHUNK_SIZE / 16;
  if (e.PLAYOUT_LEAD_MS < frameMs)
    problems.push(
      `PLAYOUT_LEAD_MS must be at least one frame (${frameMs} ms for CHUNK_SIZE=${e.CHUNK_SIZE})`,
    );
  const control = controlConfig(e, { basicAuth: e.EXOTEL_BASIC_AUTH, tmpDir: tmpdir() }, problems);
  if (problems.length > 0) throw new ConfigError(`invalid configuration: ${problems.join("; ")}`);

  const allowed = e.ELEVENLABS_ALLOWED_AGENT_IDS?.trim();
  const overrides: ConversationOverrides = {
    ...(e.ELEVENLABS_FIRST_MESSAGE !== undefined && { firstMessage: e.ELEVENLABS_FIRST_MESSAGE }),
    ...(e.ELEVENLABS_LANGUAGE !== undefined && { language: e.ELEVENLABS_LANGUAGE }),
    ...(e.ELEVENLABS_PROMPT !== undefined && { prompt: e.ELEVENLABS_PROMPT }),
    ...(e.ELEVENLABS_VOICE_ID !== undefined && { voiceId: e.ELEVENLABS_VOICE_ID }),
  };
  const config: Config = {
    // Cloud Run sets PORT; it wins over the original bridge's BRIDGE_PORT.
    port: e.PORT ?? e.BRIDGE_PORT,
    host: e.BRIDGE_HOST ?? "0.0.0.0",
    agent: {
      defaultAgentId: e.ELEVENLABS_AGENT_ID,
      apiKey: e.ELEVENLABS_API_KEY,
      region: e.ELEVENLABS_REGION,
      baseUrl: e.ELEVENLABS_BASE_URL?.replace(/\/+$/, ""),
      allowedAgentIds:
        allowed === "*"
          ? "*"
          : new Set(
              (allowed ?? "")
                .split(",")
                .map((s) => s.trim())
                .filter(Boolean),
            ),
      overrides,
      mcpApproval: parseMcpApprovalPolicy(e.ELEVENLABS_MCP_APPROVAL) as McpApprovalPolicy,
    },
    exotel: {
      basicAuth: e.EXOTEL_BASIC_AUTH,
      allowedCidrs: e.EXOTEL_ALLOWED_CIDRS?.split(",")
        .map((c) => c.trim())
        .filter(Boolean),
      trustedProxyHops: e.TRUSTED_PROXY_HOPS,
    },
    audio: {
      chunkBytesAt8k: e.CHUNK_SIZE,
      playoutLeadMs: e.PLAYOUT_LEAD_MS,
      tailFlushMs: e.TAIL_FLUSH_MS,
      resamplerQuality: e.RESAMPLER_QUALITY,
    },
    dtmf: { mode: e.DTMF_MODE, flushMs: e.DTMF_FLUSH_MS },
    limits: {
      maxConcurrentCalls: e.MAX_CONCURRENT_CALLS,
      startTimeoutMs: e.START_TIMEOUT_MS,
      agentConnectTimeoutMs: e.AGENT_CONNECT_TIMEOUT_MS,
      maxCallDurationMs: e.MAX_CALL_DURATION_S * 1000,
      callerSilenceTimeoutMs: e.CALLER_SILENCE_TIMEOUT_MS,
      drainTimeoutMs: e.DRAIN_TIMEOUT_MS,
      closePlayoutMaxMs: e.CLOSE_PLAYOUT_MAX_MS,
      exotelMaxMessageBytes: e.EXOTEL_MAX_MESSAGE_BYTES,
      agentMaxMessageBytes: e.AGENT_MAX_MESSAGE_BYTES,
      maxBufferedAudioMs: e.MAX_BUFFERED_AUDIO_MS,
      maxSocketBufferBytes: e.MAX_SOCKET_BUFFER_BYTES,
    },
    log: { level: e.LOG_LEVEL, callLogDir: e.CALL_LOG_DIR },
    control,
    // ---- HTTP surface, access and log privacy: values ----
    access: {
      adminToken: e.ADMIN_TOKEN,
      metricsAllowedCidrs: e.METRICS_ALLOWED_CIDRS?.split(",")
        .map((c) => c.trim())
        .filter(Boolean),
    },
    http: {
      requestTimeoutMs: e.HTTP_REQUEST_TIMEOUT_MS,
      maxConnections: e.MAX_CONNECTIONS || e.MAX_CONCURRENT_CALLS + EXTRA_CONNECTIONS,
    },
    privacy: { callerNumbers: e.LOG_CALLER_NUMBERS, transcripts: e.LOG_TRANSCRIPTS },
    logFormat: e.LOG_FORMAT,
    // ---- end HTTP surface, access and log privacy ----
    // Live call console (config/console.ts).
    console: consoleConfig(e),
    analysis: analysisConfig(e),
  };
  return deepFreeze(config);
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === "object" && !(o instanceof Set)) {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}

/** Whether a call may use `agentId` (the default agent is always allowed). */
export function isAgentAllowed(config: Config, agentId: string): boolean {
  if (agentId === config.agent.defaultAgentId) return true;
  const allowed = config.agent.allowedAgentIds;
  return allowed === "*" || allowed.has(agentId);
}
