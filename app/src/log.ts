/**
 * pino JSON logs in the shape Google Cloud Logging reads from Cloud Run stdout: `severity`,
 * `message`, `time`, and `logging.googleapis.com/labels` (indexed, so `labels.call_sid="CA..."`
 * finds a call fast). No audio payloads and no secrets: redaction is the safety net, not the plan.
 */
import pino, { type DestinationStream, type Logger } from "pino";

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

export function createLogger(level: string, destination?: DestinationStream): Logger {
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
      redact: { paths: REDACT, censor: "[redacted]" },
    },
    destination ?? pino.destination({ sync: false }),
  );
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
