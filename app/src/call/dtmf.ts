/**
 * DTMF to the agent. The original bridge only logged digits; here they reach the agent:
 * - `user_message` (default): digits collected until `#` or a pause, sent as if the caller said them
 *   ("4567"), which is what an agent asking "enter your order number" expects;
 * - `contextual_update`: each digit as silent context;
 * - `off`: logged only.
 *
 * A keypad is slow (a person presses a few keys a second) but a `dtmf` frame costs a peer nothing:
 * every digit passes a per-call token bucket first, and digits beyond it are dropped and counted, so
 * a flood of frames cannot turn into a flood of agent messages (or of log lines, see telemetry.ts).
 */
import type { DtmfMode } from "../config.js";

/** `text` goes to the agent; `digits` are the keys it carries (for counting and logging). */
export type DtmfSink = (kind: "user_message" | "contextual_update", text: string, digits: string) => void;

/** Digits sent to the agent in one `user_message` at most. */
const MAX_DIGITS = 64;

/** Digits a caller may press in a burst (a long account number typed fast, with room to spare). */
export const DTMF_BURST = 32;
/** Sustained digits per second: faster than any person on a keypad. */
export const DTMF_PER_SECOND = 8;

/**
 * A token bucket on an injectable clock. Hand-written: the few lines a per-call counter needs are
 * less than any rate-limit library's setup, and no timer is involved (tokens refill on read).
 */
export class TokenBucket {
  private tokens: number;
  private last: number;
  /** Takes refused so far. */
  refused = 0;

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.tokens = burst;
    this.last = now();
  }

  take(): boolean {
    const now = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.perSecond);
    this.last = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return true;
    }
    this.refused++;
    return false;
  }
}

/** The per-call bucket every DTMF consumer of a call uses. */
export function dtmfBucket(now?: () => number): TokenBucket {
  return new TokenBucket(DTMF_PER_SECOND, DTMF_BURST, now);
}

export interface DtmfCollectorOptions {
  /** Default: a fresh `dtmfBucket()`. */
  readonly bucket?: TokenBucket;
  /** A digit was over the rate and not sent to the agent. */
  readonly onDropped?: () => void;
}

export class DtmfCollector {
  private digits = "";
  private timer: NodeJS.Timeout | null = null;
  private readonly bucket: TokenBucket;
  private readonly onDropped: (() => void) | undefined;

  constructor(
    private readonly mode: DtmfMode,
    private readonly flushMs: number,
    private readonly sink: DtmfSink,
    options: DtmfCollectorOptions = {},
  ) {
    this.bucket = options.bucket ?? dtmfBucket();
    this.onDropped = options.onDropped;
  }

  /** Digits not sent to the agent because they came faster than DTMF_PER_SECOND. */
  get dropped(): number {
    return this.bucket.refused;
  }

  push(digit: string): void {
    if (this.mode === "off") return;
    if (!this.bucket.take()) {
      this.onDropped?.();
      return;
    }
    if (this.mode === "contextual_update") {
      this.sink("contextual_update", `The caller pressed ${digit} on the keypad.`, digit);
      return;
    }
    if (digit === "#") {
      this.flush();
      return;
    }
    this.digits += digit;
    if (this.digits.length >= MAX_DIGITS) {
      this.flush();
      return;
    }
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = setTimeout(this.flush, this.flushMs);
  }

  readonly flush = (): void => {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.digits === "") return;
    const text = this.digits;
    this.digits = "";
    this.sink("user_message", text, text);
  };

  dispose(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.digits = "";
  }
}
