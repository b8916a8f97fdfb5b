/**
 * The agent side of one call: the plan (which agent, which variables), the agent socket and its
 * initiation message, the dispatch of agent events, client tools, DTMF for the agent, and both
 * audio pipelines: caller audio up (CallerUplink, fed directly by the Exotel leg) and agent audio
 * down (AgentPlayout, writing directly to the Exotel leg). It reports to the Call through
 * AgentLegEvents and never ends the call itself.
 */
import { describeConversion } from "../audio/converter.js";
import {
  type AudioFormat,
  type ExotelSampleRate,
  exotelFormat,
  formatName,
  parseAgentFormat,
} from "../audio/formats.js";
import type { AgentConnectError } from "../call-endings.js";
import { type Config, isAgentAllowed } from "../config.js";
import {
  clientToolResultFrame,
  contextualUpdateFrame,
  initiationFrame,
  mcpToolApprovalFrame,
  pongFrame,
  userActivityFrame,
  userMessageFrame,
} from "../elevenlabs/frames.js";
import type { AgentEndpoints } from "../elevenlabs/hosts.js";
import { decideMcpApproval } from "../elevenlabs/mcp-approval.js";
import type {
  AgentErrorEvent,
  AgentEvent,
  AudioEvent,
  ClientToolCallEvent,
  DynamicVariables,
  InterruptionEvent,
  McpToolCallEvent,
  MetadataEvent,
} from "../elevenlabs/messages.js";
import { parseAgentMessage } from "../elevenlabs/parse.js";
import { AgentLink } from "./agent-link.js";
import { AgentPlayout, type PlayoutSink } from "./agent-playout.js";
import { CallerUplink } from "./caller-uplink.js";
import { DtmfCollector, type DtmfSink, dtmfBucket } from "./dtmf.js";
import { dynamicVariables, missingVariables } from "./dynamic-variables.js";
import type { CallHooks, CallIdentity, CallInfo, CallPlan } from "./hooks.js";
import { inboundListener, tooManyBadFrames } from "./inbound-frames.js";
import type { AgentFacts, AgentLegEvents, AgentSide } from "./legs.js";
import type { AgentCloseRecord, AgentErrorRecord } from "./summary.js";
import type { CallTelemetry } from "./telemetry.js";
import type { Tickable, Ticker } from "./ticker.js";
import type { CallControl, ClientToolRegistry } from "./tools.js";

/** Caller audio kept while the agent connects (then flushed), so the first "hello" is not lost. */
const PRECONNECT_AUDIO_MS = 3000;

export interface AgentLegDeps {
  readonly config: Config;
  readonly endpoints: AgentEndpoints;
  readonly ticker: Ticker;
  readonly tools: ClientToolRegistry;
  readonly hooks: CallHooks;
  readonly now: () => number;
  /** Handed to client tools: what a tool may do to its call (the Call decides). */
  readonly control: CallControl;
}

export class AgentLeg implements AgentSide, Tickable {
  agentId: string;
  conversationId = "";
  private readonly link: AgentLink;
  /** Caller -> agent; the Exotel leg feeds it directly. */
  readonly uplink: CallerUplink;
  private readonly playout: AgentPlayout;
  private readonly dtmfCollector: DtmfCollector;
  private identity: CallIdentity | undefined;
  private plan: CallPlan = {};
  private formats: { input: AudioFormat; output: AudioFormat } | undefined;
  private agentClose: AgentCloseRecord | undefined;
  private agentError: AgentErrorRecord | undefined;
  private endCallRequested = false;
  private ready = false;
  private ending = false;
  private disposed = false;
  private ticking = false;

  constructor(
    defaultAgentId: string,
    sampleRate: ExotelSampleRate,
    private readonly exotel: PlayoutSink,
    private readonly telemetry: CallTelemetry,
    private readonly deps: AgentLegDeps,
    private readonly events: AgentLegEvents,
  ) {
    const { config } = deps;
    this.agentId = defaultAgentId;
    this.playout = new AgentPlayout(
      sampleRate,
      {
        leadMs: config.audio.playoutLeadMs,
        tailFlushMs: config.audio.tailFlushMs,
        chunkBytesAt8k: config.audio.chunkBytesAt8k,
        resamplerQuality: config.audio.resamplerQuality,
      },
      exotel,
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
        onOpen: this.onOpen,
        onMessage: this.onMessage,
        onFailed: (e) => this.onConnectFailed(e),
        onRetry: (e, attempt) => this.onConnectRetry(e, attempt),
        onClose: (code, reason) => this.onClose(code, reason),
        onError: (err) =>
          this.telemetry.record(
            "warn",
            { event: "agent_socket_error", err: { message: err.message } },
            "agent socket error",
          ),
        mayRetry: () => !this.ending && this.agentError === undefined,
      },
    );
    this.uplink = new CallerUplink(
      this.send,
      PRECONNECT_AUDIO_MS,
      telemetry.callerTap,
      telemetry.callerVoice,
    );
    this.dtmfCollector = new DtmfCollector(config.dtmf.mode, config.dtmf.flushMs, this.onDtmfFlush, {
      bucket: dtmfBucket(deps.now),
      onDropped: () => telemetry.dtmfDropped(),
    });
  }

  // ------------------------------------------------------------ setup

  begin(identity: CallIdentity): void {
    this.identity = identity;
    // The signed URL is the slowest step of setup, so it is asked for first, while routing runs; not
    // before `start`, because an upgrade that never starts a call must not spend our API key.
    const likely = identity.customParameters.agent_id ?? this.agentId;
    if (isAgentAllowed(this.deps.config, likely)) this.link.prefetch(likely);
    // `start` has set the stream's format (rate and encoding) on the Exotel side.
    this.playout.setStreamFormat(this.streamFormat());
    void this.planAndConnect(identity.customParameters.agent_id);
  }

  private streamFormat(): AudioFormat {
    return this.exotel.streamFormat ?? exotelFormat((this.identity as CallIdentity).sampleRate);
  }

  private info(requestedAgentId: string | undefined): CallInfo {
    return { ...(this.identity as CallIdentity), requestedAgentId };
  }

  /** Routing first (hooks.plan), then the allow-list for call-chosen agents, then the agent socket. */
  private async planAndConnect(requested: string | undefined): Promise<void> {
    const info = this.info(requested);
    try {
      this.plan = (await this.deps.hooks.plan?.(info)) ?? {};
    } catch (err) {
      this.events.refused("call_refused", (err as Error)?.message ?? String(err));
      return;
    }
    if (this.ending) return;
    if (this.plan.agentId !== undefined) {
      this.agentId = this.plan.agentId;
    } else if (requested !== undefined) {
      if (!isAgentAllowed(this.deps.config, requested)) {
        this.events.refused(
          "agent_not_allowed",
          `agent_id ${requested} is not in ELEVENLABS_ALLOWED_AGENT_IDS`,
        );
        return;
      }
      this.agentId = requested;
    }
    const missing = missingVariables(this.dynamicVariables(), this.plan);
    if (missing.length > 0) {
      this.events.refused(
        "call_refused",
        `missing dynamic variables the agent requires: ${missing.join(", ")}`,
      );
      return;
    }
    try {
      this.telemetry.tap = this.deps.hooks.tap?.(info);
    } catch (err) {
      this.telemetry.record(
        "warn",
        { event: "tap_failed", err },
        "could not start the audio tap; continuing without it",
      );
    }
    this.link.start(this.agentId);
  }

  private dynamicVariables(): DynamicVariables {
    return dynamicVariables(this.identity as CallIdentity, this.plan);
  }

  private readonly onOpen = (): void => {
    this.telemetry.record("debug", { event: "agent_open", agent_id: this.agentId }, "agent socket open");
    // Must be the first message on the socket.
    this.send(
      initiationFrame(this.dynamicVariables(), this.plan.overrides ?? this.deps.config.agent.overrides),
    );
  };

  private onConnectFailed(e: AgentConnectError): void {
    this.telemetry.agentError(`connect_${e.kind}`);
    this.agentError = { message: e.message, type: e.kind, ...(e.status !== undefined && { code: e.status }) };
    this.events.connectFailed(e.message);
  }

  private onConnectRetry(e: AgentConnectError, attempt: number): void {
    this.telemetry.agentError(`connect_${e.kind}`);
    this.telemetry.agentConnectRetry();
    this.telemetry.record(
      "warn",
      { event: "agent_connect_retry", kind: e.kind, status: e.status, attempt },
      `agent connection failed (${e.message}); retrying once`,
    );
  }

  timedOut(message: string): void {
    this.telemetry.agentError("connect_timeout");
    this.agentError = { message, type: "timeout" };
  }

  // ------------------------------------------------------------ agent events

  private readonly onMessage = inboundListener<AgentEvent>({
    live: () => !this.disposed,
    parse: parseAgentMessage,
    event: (event) => this.onEvent(event),
    bad: (code, detail) => this.badFrame(code, detail),
    failed: (err) => this.events.failed(err),
  });

  private onEvent(event: AgentEvent): void {
    switch (event.type) {
      case "audio":
        this.onAudio(event);
        return;
      case "ping":
        // First thing, before any bookkeeping: the service measures our responsiveness.
        this.send(pongFrame(event.eventId));
        this.telemetry.ping(event.pingMs);
        return;
      case "interruption":
        this.onInterruption(event);
        return;
      case "metadata":
        this.onMetadata(event);
        return;
      case "agent_response":
        this.telemetry.transcript("agent", event.text);
        return;
      case "agent_response_correction":
        this.telemetry.correction(event.corrected);
        return;
      case "user_transcript":
        this.telemetry.transcript("user", event.text);
        return;
      case "client_tool_call":
        this.onClientToolCall(event);
        return;
      case "agent_tool_response":
        this.telemetry.toolCall(event.toolName);
        if (event.toolName === "end_call") this.endCallRequested = true;
        this.telemetry.record(
          "info",
          { event: "agent_tool", tool: event.toolName, tool_type: event.toolType, is_error: event.isError },
          "agent used a tool",
        );
        return;
      case "error":
        this.onErrorEvent(event);
        return;
      case "mcp_tool_call":
        this.onMcpToolCall(event);
        return;
      case "ignored":
        // Documented events with nothing for a phone call in them: no log line.
        return;
      case "tentative_user_transcript":
      case "internal_tentative_agent_response":
      case "vad_score":
        this.telemetry.record("debug", { event: `agent_${event.type}` as const }, "agent event");
        return;
      case "unknown":
        this.telemetry.record(
          "debug",
          { event: "agent_unknown_event", name: event.name },
          "ignoring unknown agent event",
        );
        return;
    }
  }

  private onMetadata(event: MetadataEvent): void {
    if (this.ready || this.ending) {
      this.telemetry.record(
        "debug",
        { event: "agent_metadata_repeat" },
        "ignoring repeated conversation metadata",
      );
      return;
    }
    const output = parseAgentFormat(event.agentOutputAudioFormat);
    const input = parseAgentFormat(event.userInputAudioFormat);
    if (output === undefined || input === undefined) {
      this.agentError = {
        message: "unsupported audio format in conversation metadata",
        type: "bad_metadata",
      };
      this.telemetry.agentError("bad_metadata");
      this.events.unusableFormats(
        `unsupported agent audio formats ${event.agentOutputAudioFormat}/${event.userInputAudioFormat}`,
      );
      return;
    }
    this.link.established();
    this.conversationId = event.conversationId;
    this.telemetry.relabel({ conversation_id: event.conversationId });
    if (event.formatsAssumed)
      this.telemetry.record(
        "warn",
        { event: "agent_formats_assumed", input: formatName(input), output: formatName(output) },
        "conversation metadata names no audio format; using ElevenLabs' default",
      );
    this.formats = { input, output };
    const stream = this.streamFormat();
    this.playout.setAgentFormat(output);
    this.ready = true;
    this.events.ready();
    this.telemetry.agentConnected(
      this.agentId,
      this.conversationId,
      { input: formatName(input), output: formatName(output) },
      { callerToAgent: describeConversion(stream, input), agentToCaller: describeConversion(output, stream) },
    );
    this.uplink.configure(stream, input, this.deps.config.audio.resamplerQuality);
  }

  private onAudio(event: AudioEvent): void {
    if (!this.ready || (this.ending && !this.playout.draining)) return;
    const now = this.deps.now();
    const playout = this.playout;
    const newResponse = event.eventId !== playout.currentEventId;
    const result = playout.push(event.audioBase64, event.eventId, now);
    if (result === "late") return; // a response the caller already talked over
    this.telemetry.agentChunk(event.eventId, newResponse, now);
    if (result === "empty") return;
    const limit = this.deps.config.limits.maxBufferedAudioMs;
    if (playout.bufferedMs > limit) {
      this.events.slow(`agent audio buffered beyond ${limit} ms`);
      return;
    }
    this.pump(now);
  }

  private onInterruption(event: InterruptionEvent): void {
    const now = this.deps.now();
    const cut = this.playout.interrupt(event.eventId, now);
    this.telemetry.interruption(event.eventId, cut.cutQueuedMs, cut.droppedBufferedMs, now);
  }

  private onClientToolCall(event: ClientToolCallEvent): void {
    const log = this.telemetry.log;
    this.telemetry.toolCall(event.toolName);
    this.telemetry.record(
      "info",
      { event: "client_tool_call", tool: event.toolName },
      "agent called a client tool",
    );
    const id = this.identity as CallIdentity;
    void this.deps.tools
      .run(event.toolName, event.parameters, {
        callSid: id.callSid,
        streamSid: id.streamSid,
        log,
        info: this.info(this.agentId),
        call: this.deps.control,
      })
      .then((r) => {
        if (this.disposed) return;
        this.send(clientToolResultFrame(event.toolCallId, r.result, r.isError));
        if (r.isError)
          this.telemetry.record(
            "warn",
            { event: "client_tool_error", tool: event.toolName, result: r.result },
            "client tool failed",
          );
      });
  }

  /**
   * Server-side MCP tools: a call awaiting approval stalls the agent until answered, and nobody on
   * the phone can approve, so the configured policy answers at once (deny unless configured).
   */
  private onMcpToolCall(event: McpToolCallEvent): void {
    const decision = decideMcpApproval(this.deps.config.agent.mcpApproval, event);
    if (decision === null) {
      this.telemetry.record(
        "debug",
        { event: "mcp_tool_call", tool: event.toolName, state: event.state },
        "agent MCP tool call",
      );
      return;
    }
    this.send(mcpToolApprovalFrame(event.toolCallId, decision.approve));
    this.telemetry.record(
      "info",
      {
        event: "mcp_tool_approval",
        tool: event.toolName,
        service_id: event.serviceId,
        approved: decision.approve,
        reason: decision.reason,
      },
      decision.approve ? "MCP tool call approved by policy" : "MCP tool call denied by policy",
    );
  }

  private onErrorEvent(event: AgentErrorEvent): void {
    this.agentError = {
      message: event.message,
      ...(event.errorType !== undefined && { type: event.errorType }),
      ...(event.code !== undefined && { code: event.code }),
    };
    this.telemetry.agentError(event.errorType ?? "error_event");
    this.telemetry.record(
      "error",
      { event: "agent_error_event", error_type: event.errorType, code: event.code, reason: event.reason },
      `agent error: ${event.message}`,
    );
  }

  private onClose(code: number, reason: string): void {
    this.agentClose = { code, reason };
    if (!this.ending) {
      if (!this.ready && this.agentError === undefined && code !== 1000) {
        this.telemetry.agentError(`close_${code}`);
        this.agentError = { message: `agent closed during setup (${code} ${reason})`, code };
      } else if (code !== 1000) {
        this.telemetry.agentError(`close_${code}`);
      }
    }
    this.events.closed(code, reason, this.endCallRequested);
  }

  private badFrame(code: string, detail: string): void {
    const over = tooManyBadFrames(this.telemetry.badFrame("agent", code, detail), "agent");
    if (over !== undefined) this.events.protocolError(over);
  }

  // ------------------------------------------------------------ to the agent

  private readonly send = (frame: string): void => {
    if (this.link.send(frame) === "slow") {
      this.events.slow(`agent socket has ${this.link.bufferedAmount} bytes unsent`);
    }
  };

  dtmf(digit: string): void {
    // Each key press tells the agent the caller is busy, so it does not start talking over the digits.
    if (this.ready && this.deps.config.dtmf.mode !== "off") this.send(userActivityFrame());
    this.dtmfCollector.push(digit);
  }

  private readonly onDtmfFlush: DtmfSink = (kind, text, digits) => {
    this.telemetry.dtmfToAgent(kind, digits);
    this.send(kind === "user_message" ? userMessageFrame(text) : contextualUpdateFrame(text));
  };

  // ------------------------------------------------------------ playout

  /** Sends what the pacing allows now; stays on the shared ticker while anything waits. */
  pump(now: number): boolean {
    const playout = this.playout;
    const waiting = playout.pump(now);
    if (waiting && !this.ticking) {
      this.ticking = true;
      this.deps.ticker.add(this);
    }
    if (playout.draining && playout.bufferedBytes === 0) this.events.drained(now);
    return waiting;
  }

  onTick(now: number): boolean {
    if (this.disposed) {
      this.ticking = false;
      return false;
    }
    this.ticking = this.pump(now);
    return this.ticking;
  }

  markPlayed(name: string): boolean {
    const playout = this.playout;
    if (!playout.markPlayed(name)) {
      this.telemetry.record("debug", { event: "mark_unknown", name }, "mark echo for an unknown mark");
      return false;
    }
    this.telemetry.record("debug", { event: "mark_played", name }, "Exotel played audio up to mark");
    return playout.draining && !playout.hasPendingMarks && playout.bufferedBytes === 0;
  }

  get draining(): boolean {
    return this.playout.draining;
  }

  get linkClosed(): boolean {
    return this.link.closed;
  }

  hasAudioToPlay(now: number): boolean {
    return this.playout.bufferedBytes > 0 || this.playout.queuedMs(now) > 0;
  }

  isIdle(now: number, quietMs: number): boolean {
    return this.playout.isIdle(now, quietMs);
  }

  queuedMs(now: number): number {
    return this.playout.queuedMs(now);
  }

  // ------------------------------------------------------------ teardown

  end(drain: boolean, now: number): void {
    this.ending = true;
    this.dtmfCollector.dispose();
    if (!drain) return;
    this.playout.draining = true;
    this.link.close();
    this.pump(now);
  }

  stopDraining(): void {
    this.playout.draining = false;
  }

  close(): void {
    this.link.close();
  }

  dispose(now: number): AgentFacts {
    this.disposed = true;
    if (this.ticking) this.deps.ticker.delete(this);
    this.ticking = false;
    this.uplink.destroy();
    this.playout.destroy();
    this.link.dispose();
    const p = this.playout;
    const f = this.formats;
    return {
      agentId: this.agentId,
      conversationId: this.conversationId,
      formats: f && { input: formatName(f.input), output: formatName(f.output) },
      agentClose: this.agentClose,
      agentError: this.agentError,
      labels: this.plan.labels,
      heardMs: p.heardMs(now),
      clearedMs: p.clearedMs,
      lateChunksDropped: p.lateChunksDropped,
      marksSent: p.marksSent,
      marksEchoed: p.marksEchoed,
    };
  }
}
