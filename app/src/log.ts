/**
 * pino JSON logs in the shape Google Cloud Logging reads from Cloud Run stdout: `severity`,
 * `message`, `time`, and `logging.googleapis.com/labels` (indexed, so `labels.call_sid="CA..."`
 * finds a call fast). No audio payloads and no secrets: redaction is the safety net, not the plan.
 * The same net applies the privacy settings (privacy.ts) to every line: phone numbers in the usual
 * fields are masked and transcript text is dropped unless the operator chose otherwise.
 */
import pino, { type DestinationStream, type Logger, type LoggerOptions } from "pino";
import { maskPhoneNumber, PRIVACY_DEFAULTS, type PrivacySettings, transcriptForLog } from "./privacy.js";

export type { Logger };

const SEVERITY: Readonly<Record<string, string>> = {
  trace: "DEBUG",
  debug: "DEBUG",
  info: "INFO",
  warn: "WARNING",
  error: "ERROR",
  fatal: "CRITICAL",
};

const REDACT = [
  "apiKey",
  "*.apiKey",
  "signedUrl",
  "*.signedUrl",
  "authorization",
  "*.authorization",
  "headers.authorization",
  "*.headers.authorization",
  'headers["xi-api-key"]',
  "basicAuth",
  "*.basicAuth",
  "payload",
  "*.payload",
];

/** Fields that hold a phone number wherever the bridge logs one (call start, summary, outbound, transfer). */
const NUMBER_KEYS = ["from", "to", "caller_number", "caller_id", "callerId"];
const NUMBER_PATHS = NUMBER_KEYS.flatMap((k) => [k, `*.${k}`]);
const NUMBER_KEY_SET = new Set(NUMBER_KEYS);

/** Events whose `text` is something a caller or the agent said. */
const TRANSCRIPT_EVENTS = new Set(["transcript", "transcript_correction"]);

export interface LoggerSettings {
  /** What personal data may be logged; default masked numbers and no transcripts. */
  readonly privacy?: PrivacySettings;
}

function censor(privacy: PrivacySettings) {
  return (value: unknown, path: string[]): unknown => {
    if (!NUMBER_KEY_SET.has(path[path.length - 1] ?? "")) return "[redacted]";
    if (privacy.callerNumbers === "full" || typeof value !== "string") return value;
    return maskPhoneNumber(value);
  };
}

/**
 * Applies LOG_TRANSCRIPTS to the object of a log call: transcript lines lose their text (summary) or
 * are not written (off), and a call summary keeps its transcript only with `lines`. Copies, never
 * mutates: the same summary object also goes to the per-call record.
 */
function transcriptHook(privacy: PrivacySettings): NonNullable<LoggerOptions["hooks"]>["logMethod"] {
  return function (this: Logger, args, method) {
    const obj = args[0] as unknown;
    if (privacy.transcripts === "lines" || typeof obj !== "object" || obj === null)
      return method.apply(this, args);
    const rec = obj as Record<string, unknown>;
    if (TRANSCRIPT_EVENTS.has(rec.event as string) && typeof rec.text === "string") {
      const fields = transcriptForLog(rec.text, privacy.transcripts);
      if (fields === undefined) return;
      const { text: _text, ...rest } = rec;
      return method.apply(this, [{ ...rest, ...fields }, ...args.slice(1)] as typeof args);
    }
    if (rec.event === "call_summary" && "transcript" in rec) {
      const { transcript: _transcript, ...rest } = rec;
      return method.apply(this, [rest, ...args.slice(1)] as typeof args);
    }
    return method.apply(this, args);
  };
}

export function createLogger(
  level: string,
  destination?: DestinationStream,
  settings: LoggerSettings = {},
): Logger {
  const privacy = settings.privacy ?? PRIVACY_DEFAULTS;
  return pino(
    {
      level,
      messageKey: "message",
      base: { service: "exotel-bridge" },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: {
        level: (label) => ({ severity: SEVERITY[label] ?? "DEFAULT", level: label }),
      },
      serializers: { err: pino.stdSerializers.err },
      redact: { paths: [...REDACT, ...NUMBER_PATHS], censor: censor(privacy) },
      hooks: { logMethod: transcriptHook(privacy) },
    },
    destination ?? pino.destination({ sync: false }),
  );
}

/** `LOG_FORMAT`: `auto` is readable on a terminal and JSON otherwise (Cloud Run's stdout is never a terminal). */
export type LogFormat = "auto" | "json" | "pretty";

/**
 * Where log lines go for `format`. Pretty output uses pino-pretty, a development dependency of the
 * repository that the image does not install: when it is missing the logs stay JSON, and no pretty
 * code runs in production.
 */
export async function logDestination(
  format: LogFormat,
  isTerminal = process.stdout.isTTY === true,
  /** Where pretty lines go; default stdout. */
  out?: NodeJS.WritableStream,
): Promise<DestinationStream | undefined> {
  if (format === "json" || (format === "auto" && !isTerminal)) return undefined;
  // A computed specifier: the image's own build (app/ alone) has no pino-pretty to type-check against.
  const specifier = "pino-pretty";
  try {
    const mod = (await import(specifier)) as { default: (o: Record<string, unknown>) => DestinationStream };
    return mod.default({
      messageKey: "message",
      ignore: "pid,hostname,service,severity,logging.googleapis.com/labels",
      translateTime: "SYS:HH:MM:ss.l",
      sync: true,
      ...(out !== undefined && { destination: out }),
    });
  } catch {
    return undefined;
  }
}

export interface CallIds {
  readonly call_sid?: string;
  readonly stream_sid?: string;
  readonly conversation_id?: string;
  readonly call_id: string;
}

/**
 * A child logger per call. Bindings are serialised once by pino; when an id becomes known the call
 * asks for a new child from the base logger (never a child of a child: the labels object would repeat).
 */
export function callLogger(base: Logger, ids: CallIds): Logger {
  const labels: Record<string, string> = { call_id: ids.call_id };
  for (const [k, v] of Object.entries(ids)) if (typeof v === "string" && v !== "") labels[k] = v;
  return base.child({ ...labels, "logging.googleapis.com/labels": labels });
}

/**
 * Process-wide token bucket for logs a hostile peer can trigger (bad frames): the first few per
 * second are logged at warn, the rest are only counted (metrics still see every one).
 */
export class LogRateLimiter {
  private tokens: number;
  private last = performance.now();
  suppressed = 0;

  constructor(
    private readonly perSecond: number,
    private readonly burst: number = perSecond,
  ) {
    this.tokens = burst;
  }

  allow(): boolean {
    const now = performance.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.perSecond);
    this.last = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return true;
    }
    this.suppressed++;
    return false;
  }
}
