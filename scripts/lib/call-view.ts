/**
 * The terminal view of a simulated call (used by `npm run call` and `npm run demo`): one line per
 * thing that happens on the Exotel side (who starts or stops speaking, clears, marks, DTMF, frame
 * violations, the end), lines added from outside (the demo adds the local test agent's
 * transcripts), and on a TTY a status line kept at the bottom with the elapsed time and who is
 * speaking. When stdout is not a TTY the status line becomes a plain progress line every 5 s.
 */
import type { CallEvent, CallReport, ExotelCall } from "./exotel-caller.js";

export interface CallViewOptions {
  /** Where lines go; default process.stdout. */
  readonly out?: NodeJS.WriteStream;
  /** Also print mark and mark-echo lines. Default false (they are frequent). */
  readonly showMarks?: boolean;
}

function secs(ms: number): string {
  return `${(ms / 1000).toFixed(2).padStart(6)}s`;
}

export class CallView {
  private readonly out: NodeJS.WriteStream;
  private readonly tty: boolean;
  private call: ExotelCall | undefined;
  private timer: NodeJS.Timeout | null = null;
  private statusShown = false;
  private lastProgress = 0;
  private readonly showMarks: boolean;

  constructor(options: CallViewOptions = {}) {
    this.out = options.out ?? process.stdout;
    this.tty = this.out.isTTY === true && process.env.TERM !== "dumb";
    this.showMarks = options.showMarks ?? false;
  }

  /** Starts the status line for `call`. */
  attach(call: ExotelCall): void {
    this.call = call;
    this.timer = setInterval(() => this.tick(), this.tty ? 200 : 1000);
  }

  /** Stops the status line. */
  detach(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.clearStatus();
  }

  /** Prints a line above the status line. `atMs` on the call clock. */
  line(atMs: number | null, who: string, text: string): void {
    this.clearStatus();
    const t = atMs === null ? " ".repeat(7) : secs(atMs);
    this.out.write(`${t}  ${who.padEnd(7)} ${text}\n`);
    this.drawStatus();
  }

  /** Prints a line without a time column. */
  plain(text: string): void {
    this.clearStatus();
    this.out.write(`${text}\n`);
    this.drawStatus();
  }

  /** Feed for ExotelCall's onEvent. */
  readonly onEvent = (e: CallEvent): void => {
    switch (e.type) {
      case "connecting":
        this.line(null, "exotel", `dialling ${e.url}`);
        return;
      case "connected":
        this.line(
          null,
          "exotel",
          `WebSocket open after ${Math.round(e.handshakeMs)} ms; sending connected + start`,
        );
        return;
      case "refused":
        this.line(null, "exotel", `call failed: ${e.message}`);
        return;
      case "start_sent":
        return;
      case "caller_speech_start":
        this.line(e.atMs, "caller", "> starts speaking");
        return;
      case "caller_speech_end":
        this.line(e.atMs, "caller", "  stops speaking");
        return;
      case "agent_audio_start":
        this.line(
          e.atMs,
          "agent",
          `> audio starts playing${e.latencyMs !== undefined ? ` (${Math.round(e.latencyMs)} ms after the caller stopped)` : ""}`,
        );
        return;
      case "agent_audio_stop":
        this.line(e.atMs, "agent", `  audio stops (${(e.playedMs / 1000).toFixed(1)} s played)`);
        return;
      case "clear":
        this.line(
          e.atMs,
          "exotel",
          `clear: barge-in, ${Math.round(e.droppedMs)} ms of queued agent audio dropped${e.wasPlaying ? "" : " (nothing playing)"}`,
        );
        return;
      case "mark":
        if (this.showMarks) this.line(e.atMs, "exotel", `mark ${e.name} received`);
        return;
      case "mark_echoed":
        if (this.showMarks) this.line(e.atMs, "exotel", `mark ${e.name} echoed (audio before it played)`);
        return;
      case "dtmf":
        this.line(e.atMs, "caller", `pressed ${e.digit}`);
        return;
      case "violation":
        this.line(e.atMs, "exotel", `FRAME RULE VIOLATION: ${e.problem}`);
        return;
      case "hangup":
        this.line(e.atMs, "caller", `hangs up (${e.reason}): stop + close`);
        return;
      case "closed":
        this.line(
          e.atMs,
          "exotel",
          `stream closed by the ${e.by} with ${e.code}${e.reason ? ` ${e.reason}` : ""}`,
        );
        return;
    }
  };

  private tick(): void {
    const call = this.call;
    if (!call?.socket) return;
    if (this.tty) {
      this.clearStatus();
      this.drawStatus();
      return;
    }
    const s = call.snapshot();
    if (s.elapsedMs - this.lastProgress >= 5000) {
      this.lastProgress = s.elapsedMs;
      this.out.write(`${secs(s.elapsedMs)}  ...     ${this.statusText()}\n`);
    }
  }

  private statusText(): string {
    const s = this.call?.snapshot();
    if (!s) return "";
    const who = [s.callerSpeaking ? "caller speaking" : "", s.agentSpeaking ? "agent speaking" : ""]
      .filter(Boolean)
      .join(" + ");
    return `${who || "silence"}; agent audio queued ${Math.round(s.queuedAheadMs)} ms`;
  }

  private drawStatus(): void {
    if (!this.tty || !this.timer || !this.call?.socket) return;
    const s = this.call.snapshot();
    this.out.write(`\x1b[2m[${(s.elapsedMs / 1000).toFixed(1)} s] ${this.statusText()}\x1b[0m`);
    this.statusShown = true;
  }

  private clearStatus(): void {
    if (this.statusShown) this.out.write("\r\x1b[K");
    this.statusShown = false;
  }
}

function ms(x: number | null): string {
  return x === null ? "-" : `${x} ms`;
}

/** The end-of-call summary, as lines. */
export function formatSummary(r: CallReport): string {
  const lines: string[] = [];
  lines.push(`Call summary (${r.ok ? "OK" : "FAILED"})`);
  if (!r.ok) for (const f of r.failures) lines.push(`  failure:               ${f}`);
  lines.push(`  bridge:                ${r.url}`);
  if (r.end.by === "refused" || r.end.by === "error") {
    lines.push(
      `  ended:                 ${r.end.by === "refused" ? `upgrade refused (HTTP ${r.end.status})` : r.end.reason}`,
    );
    return lines.join("\n");
  }
  lines.push(`  stream:                ${r.streamSid} call ${r.callSid}, ${r.sampleRate} Hz`);
  lines.push(`  WebSocket handshake:   ${ms(r.handshakeMs)}`);
  lines.push(`  time to first audio:   ${ms(r.firstAgentAudioMs)} after start`);
  const turns = r.turns.map((t) => (t.latencyMs === null ? "no reply" : `${t.latencyMs} ms`)).join(", ");
  lines.push(
    `  response latency:      ${r.turns.length ? turns : "-"}` +
      (r.latency.count > 1 ? ` (avg ${r.latency.avgMs} ms, max ${r.latency.maxMs} ms)` : ""),
  );
  lines.push(
    `  audio caller -> bridge: ${r.audio.callerSentS.toFixed(1)} s sent (${r.audio.callerSpeechS.toFixed(1)} s speech)`,
  );
  lines.push(
    `  audio agent -> caller:  ${r.audio.agentReceivedS.toFixed(1)} s received, ${r.audio.agentPlayedS.toFixed(1)} s heard, ` +
      `${r.audio.agentClearedS.toFixed(1)} s cleared`,
  );
  lines.push(
    `  interruptions:         ${r.interruptions.length}` +
      (r.interruptions.length
        ? ` (${r.interruptions.map((i) => `at ${(i.atMs / 1000).toFixed(1)} s${i.reactionMs !== null ? `, ${i.reactionMs} ms after the caller started` : ""}`).join("; ")})`
        : ""),
  );
  const sizes = Object.entries(r.frames.sizes)
    .map(([b, n]) => `${n} x ${b} B`)
    .join(", ");
  lines.push(`  agent media frames:    ${r.frames.mediaReceived}${sizes ? ` (${sizes})` : ""}`);
  lines.push(`  frame-rule violations: ${r.frames.violations}`);
  for (const v of r.frames.violationSamples.slice(0, 5))
    lines.push(`      at ${(v.atMs / 1000).toFixed(2)} s frame ${v.frame}: ${v.problem}`);
  lines.push(`  max audio queued:      ${r.maxQueuedAheadMs} ms ahead of the playhead`);
  lines.push(
    `  marks:                 ${r.marks.received} received, ${r.marks.echoed} echoed; clears: ${r.clears}`,
  );
  lines.push(`  DTMF sent:             ${r.dtmfSent || "-"}`);
  const end = r.end;
  lines.push(
    `  ended:                 ${
      end.by === "refused"
        ? `upgrade refused (HTTP ${end.status})`
        : end.by === "error"
          ? end.reason
          : `${end.by === "caller" ? `caller hung up (${end.cause ?? "hangup"})` : "bridge closed the stream"}, close ${end.code}${end.reason ? ` ${end.reason}` : ""} at ${(end.atMs / 1000).toFixed(1)} s`
    }`,
  );
  return lines.join("\n");
}
