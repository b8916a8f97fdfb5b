/**
 * One phone call: owns the Exotel socket, the agent socket, the audio pipeline both ways, the
 * timers, the marks and the summary. Exactly one way out: `close(reason)`, guarded against
 * running twice; teardown is gentle first (close frames, queued agent audio allowed to play when
 * the agent ended the call), then forced by timers.
 *
 *   connecting --start--> starting --agent metadata--> active --close()--> closing --> closed
 */
import { randomUUID } from "node:crypto";
import WebSocket from "ws";
import { describeConversion } from "../audio/converter.js";
import {
  type AudioFormat,
  durationMs,
  type ExotelSampleRate,
  exotelFormat,
  formatName,
  isExotelSampleRate,
  parseAgentFormat,
} from "../audio/formats.js";
import { base64DecodedLength, isStrictBase64 } from "../audio/pcm16.js";
import { type Config, isAgentAllowed } from "../config.js";
import {
  clientToolResultFrame,
  contextualUpdateFrame,
  initiationFrame,
  pongFrame,
  userMessageFrame,
} from "../elevenlabs/frames.js";
import type { AgentEndpoints } from "../elevenlabs/hosts.js";
import type {
  AgentErrorEvent,
  AgentEvent,
  AudioEvent,
  ClientToolCallEvent,
  DynamicVariables,
  InterruptionEvent,
  MetadataEvent,
} from "../elevenlabs/messages.js";
import { parseAgentMessage } from "../elevenlabs/parse.js";
import { type AgentConnectError, END_REASONS, type EndReason, EXOTEL_CLOSE_NORMAL } from "../errors.js";
import { clearFrame, encodeStreamSid, markFrame, mediaFrame } from "../exotel/frames.js";
import type {
  DtmfEvent,
  ExotelEvent,
  MarkEvent,
  MediaEvent,
  StartEvent,
  StopEvent,
} from "../exotel/messages.js";
import { parseExotelMessage } from "../exotel/parse.js";
import { callLogger, type Logger, type LogRateLimiter } from "../log.js";
import type { Metrics } from "../metrics.js";
import { AgentLink } from "./agent-link.js";
import { AgentPlayout, type PlayoutSink } from "./agent-playout.js";
import { CallerUplink } from "./caller-uplink.js";
import { DtmfCollector } from "./dtmf.js";
import type { AudioTap, CallHooks, CallInfo, CallPlan } from "./hooks.js";
import { buildSummary, CallStats } from "./summary.js";
import type { Tickable, Ticker } from "./ticker.js";
import type { ClientToolRegistry } from "./tools.js";

export type CallState = "connecting" | "starting" | "active" | "closing" | "closed";

/** What the HTTP upgrade told us, before Exotel says anything. */
export interface CallRequest {
  /** Upgrade query parameters (first value of each). */
  readonly query: Readonly<Record<string, string>>;
  /** From `?sample-rate=`; undefined when absent. */
  readonly sampleRate: ExotelSampleRate | undefined;
  readonly remoteAddress: string;
}

export interface CallDeps {
  readonly config: Config;
  readonly endpoints: AgentEndpoints;
  readonly log: Logger;
  readonly metrics: Metrics;
  readonly ticker: Ticker;
  readonly tools: ClientToolRegistry;
  readonly badFrameLog: LogRateLimiter;
  readonly now: () => number;
  /** Called once, after the summary is logged. */
  readonly onClosed: (call: Call) => void;
  readonly hooks: CallHooks;
}

/**
 * Names that select bridge behaviour and must not become dynamic variables (`call_token` links a
 * stream to a plan prepared by POST /calls or the dynamic-URL endpoint).
 */
const RESERVED_PARAMETERS = new Set(["agent_id", "sample-rate", "sample_rate", "call_token"]);
/** Caller audio kept while the agent connects (then flushed), so the first "hello" is not lost. */
const PRECONNECT_AUDIO_MS = 3000;
/** Gentle close first; then the socket is destroyed. */
const FORCE_CLOSE_MS = 1000;
/** After the last frame has played, wait this long for the mark echo before closing anyway. */
const PLAYOUT_GRACE_MS = 250;
/** Quiet time after the agent's last audio has played that counts as "finished speaking". */
const AGENT_DONE_QUIET_MS = 1200;
/** A recording that cannot finish in this time is abandoned so the summary still goes out. */
const TAP_FINISH_TIMEOUT_MS = 10_000;
/** Bad frames tolerated on one call before it is treated as hostile and closed. */
const MAX_BAD_FRAMES = 200;

function rawText(data: WebSocket.RawData, isBinary: boolean): string | null {
  if (isBinary) return null;
  if (Buffer.isBuffer(data)) return data.toString("utf8");
  if (Array.isArray(data)) return Buffer.concat(data).toString("utf8");
  return Buffer.from(data).toString("utf8");
}

export class Call implements Tickable {
  readonly id = randomUUID();
  state: CallState = "connecting";
  private log: Logger;
  private readonly createdAt: number;
  /** When Exotel's `start` arrived: the caller is listening from then on. */
  private startAt = -1;
  private readonly startedAt = new Date();

  // Identity, known from `start`.
  private streamSid = "";
  private encodedSid = '""';
  private callSid = "";
  private accountSid = "";
  private from = "";
  private to = "";
  private customParameters: Readonly<Record<string, string>> = {};
  private conversationId = "";
  private agentId: string;
  private plan: CallPlan = {};
  private tap: AudioTap | undefined;
  private sampleRate: ExotelSampleRate;

  // Agent connection.
  private readonly link: AgentLink;
  private agentFormats: { input: AudioFormat; output: AudioFormat } | undefined;
  private agentClose: { code: number; reason: string } | undefined;
  private agentError: { message: string; type?: string; code?: number } | undefined;
  private endCallRequested = false;

  // Audio both ways.
  private readonly uplink: CallerUplink;
  private readonly playout: AgentPlayout;
  private ticking = false;
  private userTurnEndedAt = -1;

  // Timers and teardown.
  private startTimer: NodeJS.Timeout | null = null;
  private agentTimer: NodeJS.Timeout | null = null;
  private maxDurationTimer: NodeJS.Timeout | null = null;
  private silenceTimer: NodeJS.Timeout | null = null;
  private playoutTimer: NodeJS.Timeout | null = null;
  private lastCallerFrameAt: number;
  private endReason: EndReason = "internal_error";
  private endDetail: string | undefined;
  private exotelClosed = false;
  private finalized = false;

  /** The agent ended the call and its queued audio is playing out before Exotel is closed. */
  private get drainingPlayout(): boolean {
    return this.playout.draining;
  }

  private readonly stats = new CallStats();
  private readonly dtmf: DtmfCollector;
  private endWhenDone: { reason: EndReason; detail: string | undefined; deadline: number } | null = null;
  private endWhenDoneTimer: NodeJS.Timeout | null = null;

  /** Handed to client tools. */
  private readonly control = {
    endWhenAgentDone: (
      reason: "agent_transfer" | "agent_end_call",
      detail?: string,
      maxWaitMs = 15_000,
    ): void => {
      if (this.state !== "active" || this.endWhenDone !== null) return;
      this.log.info(
        { event: "end_when_agent_done", end_reason: reason, detail },
        "call will end after the agent finishes",
      );
      this.endWhenDone = { reason, detail, deadline: this.deps.now() + maxWaitMs };
      this.endWhenDoneTimer = setInterval(this.checkAgentDone, 100);
    },
  };

  /** The agent is done when nothing is queued or buffered and it has been quiet for AGENT_DONE_QUIET_MS. */
  private readonly checkAgentDone = (): void => {
    const pending = this.endWhenDone;
    if (pending === null) return;
    const now = this.deps.now();
    if (this.playout.isIdle(now, AGENT_DONE_QUIET_MS) || now >= pending.deadline) {
      this.close(pending.reason, pending.detail);
    }
  };

  constructor(
    private readonly exotel: WebSocket,
    private readonly request: CallRequest,
    private readonly deps: CallDeps,
  ) {
    const { config } = deps;
    this.createdAt = deps.now();
    this.lastCallerFrameAt = this.createdAt;
    this.log = callLogger(deps.log, { call_id: this.id });
    this.sampleRate = request.sampleRate ?? 8000;
    this.playout = new AgentPlayout(
      this.sampleRate,
      {
        leadMs: config.audio.playoutLeadMs,
        tailFlushMs: config.audio.tailFlushMs,
        chunkBytesAt8k: config.audio.chunkBytesAt8k,
        resamplerQuality: config.audio.resamplerQuality,
      },
      this.playoutSink,
    );
    this.link = new AgentLink(
      {
        endpoints: deps.endpoints,
        apiKey: config.agent.apiKey,
        connectTimeoutMs: config.limits.agentConnectTimeoutMs,
        maxPayload: config.limits.agentMaxMessageBytes,
        maxBufferedBytes: config.limits.maxSocketBufferBytes,
        now: deps.now,
      },
      {
        onOpen: this.onAgentOpen,
        onMessage: this.onAgentMessage,
        onFailed: (e) => this.onAgentConnectFailed(e),
        onRetry: (e, attempt) => this.onAgentConnectRetry(e, attempt),
        onClose: (code, reason) => this.onAgentClose(code, reason),
        onError: (err) =>
          this.log.warn({ event: "agent_socket_error", err: { message: err.message } }, "agent socket error"),
        mayRetry: () => this.state === "starting" && this.agentError === undefined,
      },
    );
    this.uplink = new CallerUplink((frame) => this.sendAgent(frame), PRECONNECT_AUDIO_MS, this.callerTap);
    this.agentId = request.query.agent_id ?? config.agent.defaultAgentId;
    this.dtmf = new DtmfCollector(config.dtmf.mode, config.dtmf.flushMs, this.onDtmfFlush);

    exotel.on("message", this.onExotelMessage);
    exotel.on("close", this.onExotelClose);
    exotel.on("error", this.onExotelError);

    deps.metrics.callsStarted.inc();
    deps.metrics.activeCalls.inc();
    this.log.info(
      { event: "call_connecting", remote: request.remoteAddress, sample_rate: request.sampleRate },
      "Exotel stream connected",
    );

    this.startTimer = setTimeout(() => this.close("start_timeout"), config.limits.startTimeoutMs);
    // The signed URL is the slowest step of setup: fetch it while Exotel sends connected/start.
    if (isAgentAllowed(config, this.agentId)) this.link.prefetch(this.agentId);
  }

  // ---------------------------------------------------------------- Exotel side

  private readonly onExotelMessage = (data: WebSocket.RawData, isBinary: boolean): void => {
    if (this.state === "closed") return;
    const text = rawText(data, isBinary);
    if (text === null) {
      this.onBadFrame("exotel", "binary_frame", "binary frame");
      return;
    }
    const parsed = parseExotelMessage(text);
    if (!parsed.ok) {
      this.onBadFrame("exotel", parsed.error.code, parsed.error.detail);
      return;
    }
    try {
      this.onExotelEvent(parsed.event);
    } catch (err) {
      this.fail(err);
    }
  };

  private onExotelEvent(event: ExotelEvent): void {
    switch (event.event) {
      case "media":
        this.onExotelMedia(event);
        return;
      case "start":
        this.onExotelStart(event);
        return;
      case "dtmf":
        this.onExotelDtmf(event);
        return;
      case "mark":
        this.onExotelMark(event);
        return;
      case "stop":
        this.onExotelStop(event);
        return;
      case "connected":
        this.log.debug({ event: "exotel_connected" }, "Exotel connected event");
        return;
      case "unknown":
        this.log.debug({ event: "exotel_unknown_event", name: event.name }, "ignoring unknown Exotel event");
        return;
    }
  }

  private onExotelStart(event: StartEvent): void {
    if (this.state !== "connecting") {
      this.onBadFrame("exotel", "invalid_field", "second start event ignored");
      return;
    }
    const s = event.start;
    this.streamSid = s.streamSid;
    this.encodedSid = encodeStreamSid(s.streamSid);
    this.callSid = s.callSid;
    this.accountSid = s.accountSid;
    this.from = s.from;
    this.to = s.to;
    // Upgrade query first, then start.custom_parameters (the same values, when both are present).
    const params: Record<string, string> = Object.create(null);
    for (const [k, v] of Object.entries(this.request.query)) params[k] = v;
    for (const [k, v] of Object.entries(s.customParameters)) params[k] = v;
    this.customParameters = params;
    this.setSampleRate(s.mediaFormat.sampleRate);
    this.relabel();
    if (this.startTimer) clearTimeout(this.startTimer);
    this.startTimer = null;
    this.state = "starting";
    this.startAt = this.deps.now();
    this.log.info(
      {
        event: "call_start",
        from: this.from,
        to: this.to,
        account_sid: this.accountSid,
        custom_parameters: this.customParameters,
        sample_rate: this.sampleRate,
        media_format: s.mediaFormat,
      },
      "call started",
    );

    const limits = this.deps.config.limits;
    this.maxDurationTimer = setTimeout(() => this.close("max_duration"), limits.maxCallDurationMs);
    this.lastCallerFrameAt = this.deps.now();
    this.armSilenceTimer();

    this.agentTimer = setTimeout(this.onAgentTimeout, limits.agentConnectTimeoutMs);
    void this.planAndConnect(params.agent_id ?? this.request.query.agent_id);
  }

  private callInfo(requestedAgentId: string | undefined): CallInfo {
    return {
      callId: this.id,
      callSid: this.callSid,
      streamSid: this.streamSid,
      accountSid: this.accountSid,
      from: this.from,
      to: this.to,
      customParameters: this.customParameters,
      sampleRate: this.sampleRate,
      requestedAgentId,
    };
  }

  /** Routing first (hooks.plan), then the allow-list for call-chosen agents, then the agent socket. */
  private async planAndConnect(requested: string | undefined): Promise<void> {
    const info = this.callInfo(requested);
    try {
      this.plan = (await this.deps.hooks.plan?.(info)) ?? {};
    } catch (err) {
      this.close("call_refused", (err as Error)?.message ?? String(err));
      return;
    }
    if (this.state !== "starting") return;
    if (this.plan.agentId !== undefined) {
      this.agentId = this.plan.agentId;
    } else if (requested !== undefined) {
      if (!isAgentAllowed(this.deps.config, requested)) {
        this.close("agent_not_allowed", `agent_id ${requested} is not in ELEVENLABS_ALLOWED_AGENT_IDS`);
        return;
      }
      this.agentId = requested;
    }
    const vars = this.dynamicVariables();
    const missing = (this.plan.requiredVariables ?? []).filter(
      (name) => vars[name] === undefined || vars[name] === "",
    );
    if (missing.length > 0) {
      this.close("call_refused", `missing dynamic variables the agent requires: ${missing.join(", ")}`);
      return;
    }
    try {
      this.tap = this.deps.hooks.tap?.(info);
    } catch (err) {
      this.log.warn({ event: "tap_failed", err }, "could not start the audio tap; continuing without it");
    }
    this.link.start(this.agentId);
  }

  /** `?sample-rate=` configures Exotel, so it wins; start.media_format is cross-checked. */
  private setSampleRate(reported: number | undefined): void {
    const fromUrl = this.request.sampleRate;
    let rate: ExotelSampleRate = fromUrl ?? 8000;
    if (reported !== undefined) {
      if (fromUrl === undefined) {
        if (isExotelSampleRate(reported)) rate = reported;
        else
          this.log.warn(
            { event: "sample_rate_invalid", reported },
            "start.media_format rate unsupported; using 8000",
          );
      } else if (reported !== fromUrl) {
        this.log.warn(
          { event: "sample_rate_mismatch", url: fromUrl, reported },
          "sample-rate in the URL and start.media_format disagree; using the URL's",
        );
      }
    }
    this.sampleRate = rate;
    this.playout.setStreamRate(rate);
  }

  private onExotelMedia(event: MediaEvent): void {
    if (this.state === "connecting") {
      this.onBadFrame("exotel", "invalid_field", "media before start");
      return;
    }
    const b64 = event.payload;
    if (!isStrictBase64(b64)) {
      this.onBadFrame("exotel", "invalid_field", "media.payload is not base64");
      return;
    }
    const bytes = base64DecodedLength(b64);
    const ms = durationMs(bytes, exotelFormat(this.sampleRate));
    this.stats.framesIn++;
    this.stats.bytesIn += bytes;
    this.stats.callerAudioMs += ms;
    this.lastCallerFrameAt = this.deps.now();
    this.deps.metrics.framesUp.inc();
    this.deps.metrics.audioSecondsUp.inc(ms / 1000);
    this.uplink.accept(b64, bytes, ms);
  }

  /** Decoded caller audio for the recording, when one runs. */
  private readonly callerTap = (): ((pcm: Buffer) => void) | undefined => {
    const tap = this.tap;
    return tap && ((pcm: Buffer) => tap.caller(pcm, this.deps.now()));
  };

  private onExotelDtmf(event: DtmfEvent): void {
    this.stats.dtmf += event.digit;
    this.deps.metrics.dtmfDigits.inc();
    this.log.info({ event: "dtmf", digit: event.digit, duration_ms: event.durationMs }, "DTMF digit");
    this.dtmf.push(event.digit);
  }

  private readonly onDtmfFlush = (kind: "user_message" | "contextual_update", text: string): void => {
    this.log.info({ event: "dtmf_to_agent", kind, digits: text }, "DTMF sent to the agent");
    this.sendAgent(kind === "user_message" ? userMessageFrame(text) : contextualUpdateFrame(text));
  };

  private onExotelMark(event: MarkEvent): void {
    if (!this.playout.markPlayed(event.name)) {
      this.log.debug({ event: "mark_unknown", name: event.name }, "mark echo for an unknown mark");
      return;
    }
    this.log.debug({ event: "mark_played", name: event.name }, "Exotel played audio up to mark");
    // The goodbye has played: no need to wait out the estimate.
    if (this.drainingPlayout && !this.playout.hasPendingMarks && this.playout.bufferedBytes === 0) {
      this.closeSockets();
    }
  }

  private onExotelStop(event: StopEvent): void {
    this.log.info({ event: "exotel_stop", reason: event.reason }, "Exotel stopped the stream");
    this.close(
      event.reason === "callended" || event.reason === undefined ? "caller_hangup" : "exotel_stopped",
    );
  }

  private readonly onExotelClose = (code: number, reason: Buffer): void => {
    this.exotelClosed = true;
    if (this.state !== "closing" && this.state !== "closed") {
      this.close("exotel_disconnected", `Exotel socket closed (${code}${reason.length ? ` ${reason}` : ""})`);
    } else if (this.drainingPlayout) {
      // Nobody left to play the goodbye to.
      this.closeSockets();
    }
    this.maybeFinalize();
  };

  private readonly onExotelError = (err: Error): void => {
    this.log.warn({ event: "exotel_socket_error", err: { message: err.message } }, "Exotel socket error");
  };

  private sendExotel(frame: string): void {
    const ws = this.exotel;
    if (ws.readyState !== WebSocket.OPEN) return;
    if (ws.bufferedAmount > this.deps.config.limits.maxSocketBufferBytes) {
      this.close("slow_peer", `Exotel socket has ${ws.bufferedAmount} bytes unsent`);
      return;
    }
    ws.send(frame);
  }

  // ---------------------------------------------------------------- agent side

  private readonly onAgentTimeout = (): void => {
    const message = `no conversation metadata from the agent within ${this.deps.config.limits.agentConnectTimeoutMs} ms`;
    this.deps.metrics.agentErrors.labels("connect_timeout").inc();
    this.agentError = { message, type: "timeout" };
    this.close("agent_timeout", message);
  };

  private onAgentConnectFailed(e: AgentConnectError): void {
    this.deps.metrics.agentErrors.labels(`connect_${e.kind}`).inc();
    this.agentError = { message: e.message, type: e.kind, ...(e.status !== undefined && { code: e.status }) };
    this.close("agent_connect_failed", e.message);
  }

  private onAgentConnectRetry(e: AgentConnectError, attempt: number): void {
    this.deps.metrics.agentErrors.labels(`connect_${e.kind}`).inc();
    this.deps.metrics.agentConnectRetries.inc();
    this.log.warn(
      { event: "agent_connect_retry", kind: e.kind, status: e.status, attempt },
      `agent connection failed (${e.message}); retrying once`,
    );
  }

  private readonly onAgentOpen = (): void => {
    this.log.debug({ event: "agent_open", agent_id: this.agentId }, "agent socket open");
    // Must be the first message on the socket.
    this.sendAgent(
      initiationFrame(this.dynamicVariables(), this.plan.overrides ?? this.deps.config.agent.overrides),
    );
  };

  private dynamicVariables(): DynamicVariables {
    const vars: DynamicVariables = {};
    for (const [k, v] of Object.entries(this.customParameters)) {
      if (!RESERVED_PARAMETERS.has(k) && !k.startsWith("system__")) vars[k] = v;
    }
    if (this.plan.dynamicVariables) Object.assign(vars, this.plan.dynamicVariables);
    // The call's own facts win over same-named custom parameters. Always present (empty when
    // unknown) so an agent prompt using them never fails with missing_dynamic_variable.
    vars.caller_number = this.from;
    vars.called_number = this.to;
    vars.call_sid = this.callSid;
    vars.stream_sid = this.streamSid;
    return vars;
  }

  private readonly onAgentMessage = (data: WebSocket.RawData, isBinary: boolean): void => {
    if (this.state === "closed") return;
    const text = rawText(data, isBinary);
    if (text === null) {
      this.onBadFrame("agent", "binary_frame", "binary frame");
      return;
    }
    const parsed = parseAgentMessage(text);
    if (!parsed.ok) {
      this.onBadFrame("agent", parsed.error.code, parsed.error.detail);
      return;
    }
    try {
      this.onAgentEvent(parsed.event);
    } catch (err) {
      this.fail(err);
    }
  };

  private onAgentEvent(event: AgentEvent): void {
    switch (event.type) {
      case "audio":
        this.onAgentAudio(event);
        return;
      case "ping":
        // First thing, before any bookkeeping: the service measures our responsiveness.
        this.sendAgent(pongFrame(event.eventId));
        if (event.pingMs !== null) {
          this.stats.addPing(event.pingMs);
          this.deps.metrics.agentPingMs.observe(event.pingMs);
        }
        return;
      case "interruption":
        this.onAgentInterruption(event);
        return;
      case "metadata":
        this.onAgentMetadata(event);
        return;
      case "agent_response":
        this.stats.addTurn({ role: "agent", text: event.text, at: this.elapsedS() });
        this.log.info({ event: "transcript", role: "agent", text: event.text }, "agent");
        return;
      case "agent_response_correction":
        this.stats.correctLastAgentTurn(event.corrected);
        this.log.info(
          { event: "transcript_correction", role: "agent", text: event.corrected },
          "agent (as heard)",
        );
        return;
      case "user_transcript":
        this.stats.addTurn({ role: "user", text: event.text, at: this.elapsedS() });
        this.userTurnEndedAt = this.deps.now();
        this.log.info({ event: "transcript", role: "user", text: event.text }, "caller");
        return;
      case "client_tool_call":
        this.onClientToolCall(event);
        return;
      case "agent_tool_response":
        this.stats.toolCalls.push(event.toolName);
        if (event.toolName === "end_call") this.endCallRequested = true;
        this.log.info(
          { event: "agent_tool", tool: event.toolName, tool_type: event.toolType, is_error: event.isError },
          "agent used a tool",
        );
        return;
      case "error":
        this.onAgentErrorEvent(event);
        return;
      case "tentative_user_transcript":
      case "internal_tentative_agent_response":
      case "vad_score":
        this.log.debug({ event: `agent_${event.type}` }, "agent event");
        return;
      case "unknown":
        this.log.debug({ event: "agent_unknown_event", name: event.name }, "ignoring unknown agent event");
        return;
    }
  }

  private onAgentMetadata(event: MetadataEvent): void {
    if (this.state !== "starting") {
      this.log.debug({ event: "agent_metadata_repeat" }, "ignoring repeated conversation metadata");
      return;
    }
    const output = parseAgentFormat(event.agentOutputAudioFormat);
    const input = parseAgentFormat(event.userInputAudioFormat);
    if (output === undefined || input === undefined) {
      this.agentError = {
        message: "unsupported audio format in conversation metadata",
        type: "bad_metadata",
      };
      this.deps.metrics.agentErrors.labels("bad_metadata").inc();
      this.close(
        "agent_error",
        `unsupported agent audio formats ${event.agentOutputAudioFormat}/${event.userInputAudioFormat}`,
      );
      return;
    }
    if (this.agentTimer) clearTimeout(this.agentTimer);
    this.agentTimer = null;
    this.link.established();
    this.conversationId = event.conversationId;
    this.relabel();
    this.agentFormats = { input, output };
    const exotel = exotelFormat(this.sampleRate);
    this.playout.setAgentFormat(output);
    this.state = "active";
    const setupMs = this.deps.now() - this.createdAt;
    this.stats.setupMs = setupMs;
    this.deps.metrics.setupSeconds.observe(setupMs / 1000);
    this.log.info(
      {
        event: "agent_connected",
        agent_id: this.agentId,
        setup_ms: Math.round(setupMs),
        caller_to_agent: describeConversion(exotel, input),
        agent_to_caller: describeConversion(output, exotel),
      },
      "agent conversation started",
    );
    this.uplink.configure(exotel, input, this.deps.config.audio.resamplerQuality);
  }

  private onAgentAudio(event: AudioEvent): void {
    if (this.state !== "active" && !(this.state === "closing" && this.drainingPlayout)) return;
    const now = this.deps.now();
    const newResponse = event.eventId !== this.playout.currentEventId;
    const result = this.playout.push(event.audioBase64, event.eventId, now);
    if (result === "late") return; // a response the caller already talked over
    this.stats.agentChunks++;
    if (newResponse && this.userTurnEndedAt >= 0) {
      const ms = now - this.userTurnEndedAt;
      this.stats.responseLatenciesMs.push(ms);
      this.deps.metrics.responseLatencySeconds.observe(ms / 1000);
      this.userTurnEndedAt = -1;
    }
    if (result === "empty") return;
    const limit = this.deps.config.limits.maxBufferedAudioMs;
    if (this.playout.bufferedMs > limit) {
      this.close("slow_peer", `agent audio buffered beyond ${limit} ms`);
      return;
    }
    this.pump(now);
  }

  private onAgentInterruption(event: InterruptionEvent): void {
    const now = this.deps.now();
    const cut = this.playout.interrupt(event.eventId, now);
    this.tap?.cleared(now);
    this.stats.interruptions++;
    this.deps.metrics.interruptions.inc();
    this.log.info(
      {
        event: "interruption",
        agent_event_id: event.eventId,
        cut_queued_ms: Math.round(cut.cutQueuedMs),
        dropped_buffered_ms: Math.round(cut.droppedBufferedMs),
      },
      "caller interrupted the agent",
    );
  }

  private onClientToolCall(event: ClientToolCallEvent): void {
    this.stats.toolCalls.push(event.toolName);
    this.log.info({ event: "client_tool_call", tool: event.toolName }, "agent called a client tool");
    void this.deps.tools
      .run(event.toolName, event.parameters, {
        callSid: this.callSid,
        streamSid: this.streamSid,
        log: this.log,
        info: this.callInfo(this.agentId),
        call: this.control,
      })
      .then((r) => {
        if (this.state === "closed") return;
        this.sendAgent(clientToolResultFrame(event.toolCallId, r.result, r.isError));
        if (r.isError)
          this.log.warn(
            { event: "client_tool_error", tool: event.toolName, result: r.result },
            "client tool failed",
          );
      });
  }

  private onAgentErrorEvent(event: AgentErrorEvent): void {
    this.agentError = {
      message: event.message,
      ...(event.errorType !== undefined && { type: event.errorType }),
      ...(event.code !== undefined && { code: event.code }),
    };
    this.deps.metrics.agentErrors.labels(event.errorType ?? "error_event").inc();
    this.log.error(
      { event: "agent_error_event", error_type: event.errorType, code: event.code, reason: event.reason },
      `agent error: ${event.message}`,
    );
  }

  private onAgentClose(code: number, reason: string): void {
    this.agentClose = { code, reason };
    if (this.state === "closing" || this.state === "closed") {
      this.maybeFinalize();
      return;
    }
    if (this.state === "starting" && this.agentError === undefined && code !== 1000) {
      this.deps.metrics.agentErrors.labels(`close_${code}`).inc();
      this.agentError = { message: `agent closed during setup (${code} ${reason})`, code };
    } else if (code !== 1000) {
      this.deps.metrics.agentErrors.labels(`close_${code}`).inc();
    }
    if (code === 1000) {
      this.close(this.endCallRequested ? "agent_end_call" : "agent_ended", reason || undefined);
    } else if (code === 1006) {
      this.close("agent_disconnected", "agent socket dropped (1006)");
    } else {
      this.close("agent_error", `agent closed with ${code}${reason ? ` ${reason}` : ""}`);
    }
  }

  private sendAgent(frame: string): void {
    if (this.link.send(frame) === "slow") {
      this.close("slow_peer", `agent socket has ${this.link.bufferedAmount} bytes unsent`);
    }
  }

  // ---------------------------------------------------------------- playout

  /** Sends what the pacing allows now; keeps the call on the shared ticker while anything waits. */
  private pump(now: number): boolean {
    const waiting = this.playout.pump(now);
    if (waiting && !this.ticking) {
      this.ticking = true;
      this.deps.ticker.add(this);
    }
    if (this.drainingPlayout && this.playout.bufferedBytes === 0) this.schedulePlayoutClose(now);
    return waiting;
  }

  onTick(now: number): boolean {
    if (this.state === "closed") {
      this.ticking = false;
      return false;
    }
    this.ticking = this.pump(now);
    return this.ticking;
  }

  /** Where AgentPlayout's frames go: Exotel, the recording, the counters. */
  private readonly playoutSink: PlayoutSink = {
    media: (pcm, ms, playAt, now) => {
      this.sendExotel(mediaFrame(this.encodedSid, pcm.toString("base64")));
      this.tap?.agent(pcm, playAt);
      this.stats.framesOut++;
      this.stats.agentAudioMs += ms;
      this.deps.metrics.framesDown.inc();
      this.deps.metrics.audioSecondsDown.inc(ms / 1000);
      if (this.stats.firstAudioMs === undefined) {
        this.stats.firstAudioMs = now - this.startAt;
        this.deps.metrics.firstAudioSeconds.observe(this.stats.firstAudioMs / 1000);
      }
    },
    mark: (name) => this.sendExotel(markFrame(this.encodedSid, name)),
    clear: () => this.sendExotel(clearFrame(this.encodedSid)),
  };

  // ---------------------------------------------------------------- teardown

  private armSilenceTimer(): void {
    const limit = this.deps.config.limits.callerSilenceTimeoutMs;
    const check = (): void => {
      const quiet = this.deps.now() - this.lastCallerFrameAt;
      if (quiet >= limit) {
        this.close("caller_silence", `no media frames for ${Math.round(quiet)} ms`);
        return;
      }
      this.silenceTimer = setTimeout(check, limit - quiet + 5);
    };
    this.silenceTimer = setTimeout(check, limit);
  }

  private onBadFrame(source: "exotel" | "agent", code: string, detail: string): void {
    const n = source === "exotel" ? ++this.stats.badExotelFrames : ++this.stats.badAgentFrames;
    this.deps.metrics.badFrames.labels(source, code).inc();
    if (this.deps.badFrameLog.allow()) {
      this.log.warn(
        { event: "bad_frame", source, code, detail, count: n },
        `bad ${source} frame skipped: ${detail}`,
      );
    }
    if (n > MAX_BAD_FRAMES) this.close("protocol_error", `more than ${MAX_BAD_FRAMES} bad ${source} frames`);
  }

  private fail(err: unknown): void {
    this.log.error({ event: "call_internal_error", err }, "unexpected error in call handler");
    this.close("internal_error", (err as Error)?.message);
  }

  /**
   * The only way a call ends. Caller-side endings close the agent at once; agent-side endings let
   * the queued audio play out (bounded) before closing Exotel, so a goodbye is heard in full.
   */
  close(reason: EndReason, detail?: string): void {
    if (this.state === "closing" || this.state === "closed") return;
    const prior = this.state;
    this.state = "closing";
    this.endReason = reason;
    this.endDetail = detail;
    for (const t of [
      this.startTimer,
      this.agentTimer,
      this.maxDurationTimer,
      this.silenceTimer,
      this.endWhenDoneTimer,
    ]) {
      if (t) clearTimeout(t);
    }
    this.endWhenDone = null;
    this.endWhenDoneTimer = null;
    this.startTimer = this.agentTimer = this.maxDurationTimer = this.silenceTimer = null;
    this.dtmf.dispose();
    const info = END_REASONS[reason];
    this.log[info.level](
      { event: "call_ending", end_reason: reason, ended_by: info.by, detail, state: prior },
      `call ending: ${info.text}${detail ? ` (${detail})` : ""}`,
    );
    if (prior !== "connecting") {
      try {
        this.deps.hooks.closing?.(this.callInfo(this.agentId), { endReason: reason, endedBy: info.by });
      } catch (err) {
        this.log.warn({ event: "closing_hook_failed", err }, "call-closing hook failed");
      }
    }
    const agentSide = info.by === "agent" || reason === "max_duration";
    const somethingToPlay = this.playout.bufferedBytes > 0 || this.playout.queuedMs(this.deps.now()) > 0;
    if (agentSide && somethingToPlay && !this.exotelClosed && prior === "active") {
      this.playout.draining = true;
      this.link.close();
      this.playoutTimer = setTimeout(() => this.closeSockets(), this.deps.config.limits.closePlayoutMaxMs);
      this.pump(this.deps.now());
      return;
    }
    this.closeSockets();
  }

  private schedulePlayoutClose(now: number): void {
    if (this.state !== "closing") return;
    const wait = this.playout.queuedMs(now) + PLAYOUT_GRACE_MS;
    if (this.playoutTimer) clearTimeout(this.playoutTimer);
    this.playoutTimer = setTimeout(
      () => this.closeSockets(),
      Math.min(wait, this.deps.config.limits.closePlayoutMaxMs),
    );
  }

  private closeSockets(): void {
    if (this.playoutTimer) clearTimeout(this.playoutTimer);
    this.playoutTimer = null;
    this.playout.draining = false;
    this.link.close();
    if (!this.exotelClosed) {
      const ws = this.exotel;
      ws.close(EXOTEL_CLOSE_NORMAL);
      setTimeout(() => {
        if (!this.exotelClosed) ws.terminate();
      }, FORCE_CLOSE_MS).unref();
    }
    this.maybeFinalize();
  }

  private maybeFinalize(): void {
    if (this.finalized || this.state !== "closing" || this.drainingPlayout) return;
    if (!this.exotelClosed || !this.link.closed) return;
    this.finalized = true;
    this.state = "closed";
    if (this.ticking) this.deps.ticker.delete(this);
    this.ticking = false;
    if (this.playoutTimer) clearTimeout(this.playoutTimer);
    this.uplink.destroy();
    this.playout.destroy();
    this.stats.lateAgentChunksDropped = this.playout.lateChunksDropped;
    this.stats.marksSent = this.playout.marksSent;
    this.stats.marksEchoed = this.playout.marksEchoed;
    this.exotel.removeAllListeners();
    this.link.dispose();
    // A late 'error' after removeAllListeners would crash the process: keep a no-op listener.
    this.exotel.on("error", noop);

    const now = this.deps.now();
    const durationMs = now - this.createdAt;
    const heardAgentMs = this.playout.heardMs(now);
    const tap = this.tap;
    this.tap = undefined;
    if (tap === undefined) {
      this.emitSummary(durationMs, heardAgentMs, undefined);
      return;
    }
    // Recordings finish (file write, upload) before the summary so it can link to them; bounded.
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), TAP_FINISH_TIMEOUT_MS);
    });
    Promise.race([tap.finish(), timeout])
      .catch((err: unknown) => {
        this.log.warn({ event: "tap_finish_failed", err }, "audio tap failed to finish");
        return undefined;
      })
      .then((extras) => {
        clearTimeout(timer);
        this.emitSummary(durationMs, heardAgentMs, extras);
      });
  }

  private emitSummary(
    durationMs: number,
    heardAgentMs: number,
    extras: Readonly<Record<string, unknown>> | undefined,
  ): void {
    const info = END_REASONS[this.endReason];
    const summary = buildSummary({
      callId: this.id,
      callSid: this.callSid,
      streamSid: this.streamSid,
      accountSid: this.accountSid,
      conversationId: this.conversationId,
      agentId: this.agentId,
      from: this.from,
      to: this.to,
      sampleRate: this.sampleRate,
      agentFormats: this.agentFormats && {
        input: formatName(this.agentFormats.input),
        output: formatName(this.agentFormats.output),
      },
      customParameters: this.customParameters,
      startedAt: this.startedAt,
      durationMs,
      endReason: this.endReason,
      endedBy: info.by,
      endDetail: this.endDetail,
      agentClose: this.agentClose,
      agentError: this.agentError,
      heardAgentMs,
      clearedAgentMs: this.playout.clearedMs,
      stats: this.stats,
      extras: { ...(this.plan.labels && { labels: this.plan.labels }), ...extras },
    });
    // The ids are already in the logger's bindings: do not repeat the keys in the line.
    const { call_sid: _c, stream_sid: _s, conversation_id: _v, ...record } = summary;
    this.log[info.level === "error" ? "error" : "info"](record, "call summary");
    this.deps.metrics.callsEnded.labels(this.endReason, info.by).inc();
    this.deps.metrics.activeCalls.dec();
    try {
      this.deps.hooks.ended?.(summary);
    } catch (err) {
      this.log.warn({ event: "ended_hook_failed", err }, "call-ended hook failed");
    } finally {
      this.deps.onClosed(this);
    }
  }

  // ---------------------------------------------------------------- helpers

  private relabel(): void {
    this.log = callLogger(this.deps.log, {
      call_id: this.id,
      call_sid: this.callSid,
      stream_sid: this.streamSid,
      conversation_id: this.conversationId,
    });
  }

  private elapsedS(): number {
    return Math.round(this.deps.now() - this.createdAt) / 1000;
  }

  /** For /health and drain. */
  describe(): Record<string, unknown> {
    return {
      call_sid: this.callSid,
      stream_sid: this.streamSid,
      conversation_id: this.conversationId,
      state: this.state,
      duration_s: Math.round(this.deps.now() - this.createdAt) / 1000,
    };
  }

  get endedReason(): EndReason | undefined {
    return this.state === "closing" || this.state === "closed" ? this.endReason : undefined;
  }
}

function noop(): void {}
