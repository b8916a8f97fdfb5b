/**
 * DTMF to the agent. The original bridge only logged digits; here they reach the agent:
 * - `user_message` (default): digits collected until `#` or a pause, sent as if the caller said them
 *   ("4567"), which is what an agent asking "enter your order number" expects;
 * - `contextual_update`: each digit as silent context;
 * - `off`: logged only.
 */
import type { DtmfMode } from "../config.js";

export type DtmfSink = (kind: "user_message" | "contextual_update", text: string) => void;

const MAX_DIGITS = 64;

export class DtmfCollector {
  private digits = "";
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly mode: DtmfMode,
    private readonly flushMs: number,
    private readonly sink: DtmfSink,
  ) {}

  push(digit: string): void {
    if (this.mode === "off") return;
    if (this.mode === "contextual_update") {
      this.sink("contextual_update", `The caller pressed ${digit} on the keypad.`);
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
    this.sink("user_message", text);
  };

  dispose(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.digits = "";
  }
}
