/**
 * Everything one call tells the outside world about itself: the per-call logger (relabelled as ids
 * become known), the counters behind the summary, the process metrics, the recording tap and the
 * optional live observer. The legs and the Call report here and nowhere else, so what is observed
 * of a call is decided in one file. Per-frame methods only add to numbers: no allocation there.
 */
import { END_REASONS, type EndReason } from "../call-endings.js";
import { callLogger, type Logger, type LogRateLimiter } from "../log.js";
import type { Metrics } from "../metrics.js";
import { PRIVACY_DEFAULTS, type PrivacySettings } from "../privacy.js";
import { DTMF_BURST, DTMF_PER_SECOND, dtmfBucket, type TokenBucket } from "./dtmf.js";
import type { AudioTap, CallIdentity } from "./hooks.js";
import { customParametersForLog, dtmfDigitsLogged, summaryForLog } from "./log-privacy.js";
import type { CallLogLevel, CallLogRecord } from "./log-records.js";
import type { CallObserver } from "./observer.js";
import { ResponseLatency } from "./response-latency.js";
import { buildSummary, CallStats, type CallSummary, type SummaryInput } from "./summary.js";

export interface TelemetryDeps {
  readonly log: Logger;
  readonly metrics: Metrics;
  readonly badFrameLog: LogRateLimiter;
  readonly now: () => number;
  readonly observer?: CallObserver | undefined;
  /** LOG_CALLER_NUMBERS / LOG_TRANSCRIPTS; the privacy defaults when absent. */
  readonly config?: { readonly privacy: PrivacySettings };
}

export type FrameSource = "exotel" | "agent";

/** Tool names kept for `call_summary.tool_calls`. */
const MAX_TOOL_CALLS_KEPT = 100;

export class CallTelemetry {
  readonly stats = new CallStats();
  /** The recording of this call, once the plan has asked for one. */
  tap: AudioTap | undefined;
  private logger: Logger;
  private ids: { call_id: string; call_sid?: string; stream_sid?: string; conversation_id?: string };
  /** When Exotel's `start` arrived: the caller is listening from then on. */
  private startAt = -1;
  private readonly createdAt: number;
  private readonly latency = new ResponseLatency();
  /** event_id of a response whose first frame to Exotel is awaited (-1: none). */
  private responseAwaitingAudio = -1;
  private readonly observer: CallObserver | undefined;
  /** Per call: a flood of `dtmf` frames must not become a flood of log lines. */
  private readonly dtmfLog: TokenBucket;
  private readonly privacy: PrivacySettings;

  constructor(
    readonly callId: string,
    private readonly deps: TelemetryDeps,
  ) {
    this.createdAt = deps.now();
    this.ids = { call_id: callId };
    this.logger = callLogger(deps.log, this.ids);
    this.observer = deps.observer;
    this.dtmfLog = dtmfBucket(deps.now);
    this.privacy = deps.config?.privacy ?? PRIVACY_DEFAULTS;
  }

  /** The call's logger, labelled with every id known so far. */
  get log(): Logger {
    return this.logger;
  }

  /** A new id is known: later lines carry it (a fresh child of the base logger, see callLogger). */
  relabel(ids: { call_sid?: string; stream_sid?: string; conversation_id?: string }): void {
    this.ids = { ...this.ids, ...ids };
    this.logger = callLogger(this.deps.log, this.ids);
  }

  /** Every line a call logs goes through here, typed by its `event` (see log-records.ts). */
  record(level: CallLogLevel, rec: CallLogRecord, msg: string): void {
    this.logger[level](rec, msg);
  }

  /** Seconds since the socket opened, for transcript lines. */
  elapsedS(): number {
    return Math.round(this.deps.now() - this.createdAt) / 1000;
  }

  sinceCreatedMs(now: number): number {
    return now - this.createdAt;
  }

  connecting(remote: string, sampleRate: number | undefined): void {
    this.deps.metrics.callsStarted.inc();
    this.deps.metrics.activeCalls.inc();
    this.record(
      "info",
      { event: "call_connecting", remote, sample_rate: sampleRate },
      "Exotel stream connected",
    );
  }

  started(identity: CallIdentity, mediaFormat: unknown): void {
    this.startAt = this.deps.now();
    const encoding = (mediaFormat as { streamEncoding?: unknown } | undefined)?.streamEncoding;
    this.latency.setFormat(identity.sampleRate, encoding === "ulaw" ? "ulaw" : "pcm16");
    this.record(
      "info",
      {
        event: "call_start",
        from: identity.from,
        to: identity.to,
        account_sid: identity.accountSid,
        custom_parameters: customParametersForLog(identity.customParameters, this.privacy),
        sample_rate: identity.sampleRate,
        media_format: mediaFormat,
      },
      "call started",
    );
    const o = this.observer;
    if (o?.callStarted)
      this.notify(() =>
        o.callStarted?.({
          callId: this.callId,
          callSid: identity.callSid,
          streamSid: identity.streamSid,
          from: identity.from,
          to: identity.to,
          sampleRate: identity.sampleRate,
        }),
      );
  }

  agentConnected(
    agentId: string,
    conversationId: string,
    formats: { readonly input: string; readonly output: string },
    conversions: { readonly callerToAgent: string; readonly agentToCaller: string },
  ): void {
    const setupMs = this.deps.now() - this.createdAt;
    this.stats.setupMs = setupMs;
    this.deps.metrics.setupSeconds.observe(setupMs / 1000);
    this.record(
      "info",
      {
        event: "agent_connected",
        agent_id: agentId,
        setup_ms: Math.round(setupMs),
        caller_to_agent: conversions.callerToAgent,
        agent_to_caller: conversions.agentToCaller,
      },
      "agent conversation started",
    );
    const o = this.observer;
    if (o?.agentConnected)
      this.notify(() =>
        o.agentConnected?.({
          callId: this.callId,
          agentId,
          conversationId,
          agentInputFormat: formats.input,
          agentOutputFormat: formats.output,
          setupMs,
        }),
      );
  }

  // ------------------------------------------------------------ per frame

  /** One caller media frame from Exotel. */
  callerMedia(bytes: number, ms: number): void {
    const st = this.stats;
    st.framesIn++;
    st.bytesIn += bytes;
    st.callerAudioMs += ms;
    this.deps.metrics.framesUp.inc();
    this.deps.metrics.audioSecondsUp.inc(ms / 1000);
  }

  /** Every caller payload as received (PCM16 or mu-law bytes), for the end-of-speech detector. */
  readonly callerVoice = (payload: Uint8Array): void => {
    this.latency.caller(payload, this.deps.now());
  };

  /** Decoded caller audio for the recording, when one runs (read per frame by the uplink). */
  readonly callerTap = (): ((pcm: Buffer) => void) | undefined => {
    const tap = this.tap;
    return tap && ((pcm: Buffer) => tap.caller(pcm, this.deps.now()));
  };

  /** One agent frame sent to Exotel, `ms` long, starting to play at `playAt`. */
  agentMedia(pcm: Buffer, ms: number, playAt: number, now: number): void {
    this.tap?.agent(pcm, playAt);
    const st = this.stats;
    st.framesOut++;
    st.agentAudioMs += ms;
    this.deps.metrics.framesDown.inc();
    this.deps.metrics.audioSecondsDown.inc(ms / 1000);
    if (st.firstAudioMs === undefined) {
      st.firstAudioMs = now - this.startAt;
      this.deps.metrics.firstAudioSeconds.observe(st.firstAudioMs / 1000);
    }
    if (this.responseAwaitingAudio >= 0) this.responseAudible(now);
  }

  /** One agent audio chunk accepted for playout; `newResponse` on the first chunk of a response. */
  agentChunk(eventId: number, newResponse: boolean, _now: number): void {
    this.stats.agentChunks++;
    if (!newResponse) return;
    this.latency.responseStarted();
    this.responseAwaitingAudio = eventId;
  }

  /** The first frame of a response went to Exotel: the caller's wait ends here. */
  private responseAudible(now: number): void {
    const eventId = this.responseAwaitingAudio;
    this.responseAwaitingAudio = -1;
    const latency = this.latency.firstAudio(now);
    if (latency !== undefined) {
      this.stats.addResponseLatency(latency);
      this.deps.metrics.responseLatencySeconds.observe(latency / 1000);
    }
    const o = this.observer;
    if (o?.responseStarted)
      this.notify(() => o.responseStarted?.({ callId: this.callId, eventId, turnLatencyMs: latency }));
  }

  // ------------------------------------------------------------ conversation

  transcript(role: "agent" | "user", text: string): void {
    const at = this.elapsedS();
    this.stats.addTurn({ role, text, at });
    this.record("info", { event: "transcript", role, text }, role === "agent" ? "agent" : "caller");
    this.observeLine(role, text, at, false);
  }

  /** After a barge-in the agent sends the text the caller actually heard. */
  correction(text: string): void {
    this.stats.correctLastAgentTurn(text);
    this.record("info", { event: "transcript_correction", role: "agent", text }, "agent (as heard)");
    this.observeLine("agent", text, this.elapsedS(), true);
  }

  private observeLine(role: "agent" | "user", text: string, at: number, corrected: boolean): void {
    const o = this.observer;
    if (o?.transcript) this.notify(() => o.transcript?.({ callId: this.callId, role, text, at, corrected }));
  }

  interruption(eventId: number, cutQueuedMs: number, droppedBufferedMs: number, now: number): void {
    this.tap?.cleared(now);
    this.stats.interruptions++;
    this.deps.metrics.interruptions.inc();
    this.record(
      "info",
      {
        event: "interruption",
        agent_event_id: eventId,
        cut_queued_ms: Math.round(cutQueuedMs),
        dropped_buffered_ms: Math.round(droppedBufferedMs),
      },
      "caller interrupted the agent",
    );
    const o = this.observer;
    if (o?.interruption)
      this.notify(() => o.interruption?.({ callId: this.callId, eventId, cutMs: cutQueuedMs }));
  }

  /** Every digit is counted; only those within the per-call DTMF rate are logged and shown live. */
  dtmf(digit: string, durationMs: number | undefined): void {
    this.stats.addDtmf(digit);
    this.deps.metrics.dtmfDigits.inc();
    if (!this.dtmfLog.take()) {
      if (this.dtmfLog.refused === 1)
        this.record(
          "warn",
          { event: "dtmf_rate_limited", per_second: DTMF_PER_SECOND, burst: DTMF_BURST },
          "DTMF faster than a keypad: further digits are counted, not logged or sent to the agent",
        );
      return;
    }
    this.record(
      "info",
      { event: "dtmf", ...(dtmfDigitsLogged(this.privacy) && { digit }), duration_ms: durationMs },
      "DTMF digit",
    );
    const o = this.observer;
    if (o?.dtmf) this.notify(() => o.dtmf?.({ callId: this.callId, digit }));
  }

  /** Digits sent to the agent: logged as a count unless LOG_TRANSCRIPTS=lines (see log-privacy.ts). */
  dtmfToAgent(kind: "user_message" | "contextual_update", digits: string): void {
    this.record(
      "info",
      {
        event: "dtmf_to_agent",
        kind,
        ...(dtmfDigitsLogged(this.privacy) ? { digits } : { count: digits.length }),
      },
      "DTMF sent to the agent",
    );
  }

  /** A digit over the per-call rate was not sent to the agent. */
  dtmfDropped(): void {
    this.stats.dtmfDropped++;
  }

  ping(ms: number | null): void {
    if (ms === null) return;
    this.stats.addPing(ms);
    this.deps.metrics.agentPingMs.observe(ms);
  }

  toolCall(name: string): void {
    // The agent decides how many tools it calls: the summary keeps a bounded list.
    if (this.stats.toolCalls.length < MAX_TOOL_CALLS_KEPT) this.stats.toolCalls.push(name);
  }

  /** An agent failure, counted under `label` in agent_errors_total. */
  agentError(label: string): void {
    this.deps.metrics.agentErrors.labels(label).inc();
  }

  agentConnectRetry(): void {
    this.deps.metrics.agentConnectRetries.inc();
  }

  /** A frame that could not be used; returns how many of `source`'s frames were bad so far. */
  badFrame(source: FrameSource, code: string, detail: string): number {
    const n = source === "exotel" ? ++this.stats.badExotelFrames : ++this.stats.badAgentFrames;
    this.deps.metrics.badFrames.labels(source, code).inc();
    if (this.deps.badFrameLog.allow()) {
      this.record(
        "warn",
        { event: "bad_frame", source, code, detail, count: n },
        `bad ${source} frame skipped: ${detail}`,
      );
    }
    return n;
  }

  // ------------------------------------------------------------ ending

  ending(reason: EndReason, detail: string | undefined, phase: string): void {
    const info = END_REASONS[reason];
    this.record(
      info.level,
      { event: "call_ending", end_reason: reason, ended_by: info.by, detail, state: phase },
      `call ending: ${info.text}${detail ? ` (${detail})` : ""}`,
    );
  }

  /** Builds, logs and counts the one summary of the call; the observer sees it last. */
  summarize(input: Omit<SummaryInput, "stats" | "callId">): CallSummary {
    const summary = buildSummary({ ...input, callId: this.callId, stats: this.stats });
    const info = END_REASONS[input.endReason];
    // The ids are already in the logger's bindings: do not repeat the keys in the line.
    const {
      call_sid: _c,
      stream_sid: _s,
      conversation_id: _v,
      ...record
    } = summaryForLog(summary, this.privacy);
    this.logger[info.level === "error" ? "error" : "info"](record, "call summary");
    this.deps.metrics.callsEnded.labels(input.endReason, info.by).inc();
    this.deps.metrics.activeCalls.dec();
    const o = this.observer;
    if (o?.callEnded) this.notify(() => o.callEnded?.({ callId: this.callId, summary }));
    return summary;
  }

  /** An observer that throws must not take the call down with it. */
  private notify(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.record("warn", { event: "observer_failed", err }, "call observer failed");
    }
  }
}
