/**
 * One conversation on the local test agent: the socket, what the client sent (read-only views),
 * the agent's speech (paced faster than real time, with an estimate of when it has played), and
 * the levers tests pull (send, interrupt, close, raw frames). The scripted behaviour is in
 * script.ts, the failures on purpose in failures.ts.
 */
import { randomUUID } from "node:crypto";
import { WebSocket } from "ws";
import { EnergyVad, pcmMs } from "../audio.js";
import { fail1008, onConversationStart } from "./failures.js";
import { bytesPerMsOf, decodeFrom, encodeFor, formatInfo } from "./formats.js";
import { ConversationScript } from "./script.js";
import type { LocalAgent } from "./server.js";
import type {
  ConversationClose,
  ConversationEvent,
  FormatInfo,
  ReceivedMessage,
  ResponseRecord,
  SentMessage,
  ToolResult,
  Utterance,
} from "./types.js";

const LABEL = "[local test agent]";
const STRICT_BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * One conversation on the local test agent: the recorded client messages, the agent's speech
 * and the levers tests pull (send, interrupt, close, raw frames).
 */
export class AgentConversation {
  readonly id = `conv_local_${randomUUID().replaceAll("-", "").slice(0, 20)}`;
  readonly openedAt = performance.now();
  /** Query parameters of the upgrade request. */
  readonly query: Readonly<Record<string, string>>;
  readonly agentId: string;
  readonly inputFormat: FormatInfo;
  readonly outputFormat: FormatInfo;
  private initiationData: Record<string, unknown> | undefined;
  private metadataWasSent = false;
  private readonly receivedLog: ReceivedMessage[] = [];
  private readonly sentLog: SentMessage[] = [];
  private readonly userMessageLog: string[] = [];
  private readonly contextualUpdateLog: string[] = [];
  private readonly pongLog: Array<{ eventId: number; rttMs: number | null; atMs: number }> = [];
  private readonly toolResultLog: Array<Record<string, unknown>> = [];
  private readonly pendingTools = new Map<string, (r: ToolResult) => void>();
  private readonly mcpApprovalLog: Array<Record<string, unknown>> = [];
  private readonly pendingApprovals = new Map<string, (approved: boolean) => void>();
  private readonly unknownLog: unknown[] = [];
  private readonly malformedLog: Array<{ atMs: number; problem: string; sample: string }> = [];
  private readonly responseLog: ResponseRecord[] = [];
  private readonly interruptionLog: number[] = [];
  private userActivityCount = 0;
  private audioChunkCount = 0;
  private closedWith: ConversationClose | undefined;
  readonly closed: Promise<ConversationClose>;

  private readonly userAudioParts: Buffer[] = [];
  private readonly userPcmParts: Buffer[] = [];
  private userPcmBytes = 0;
  private readonly listeners = new Set<(e: ConversationEvent) => void>();
  private resolveClosed!: (c: ConversationClose) => void;
  private closeSentFirst = false;
  private nextEventId = 1;
  private nextPingId = 1;
  private readonly pingSentAt = new Map<number, number>();
  private lastRttMs: number | null = null;
  private pingTimer: NodeJS.Timeout | null = null;
  private inputTimer: NodeJS.Timeout | null = null;
  private lastUserAudioAt = performance.now();
  private readonly timers = new Set<NodeJS.Timeout>();
  /** Wall-clock (performance.now) when all audio sent so far will have played, as estimated. */
  private playEnd = 0;
  private current: { rec: ResponseRecord; cancelled: boolean } | null = null;
  private firstAudioSent = false;
  private readonly script: ConversationScript | undefined;

  // Script/echo state.
  private readonly vad: EnergyVad;

  constructor(
    private readonly ws: WebSocket,
    readonly agent: LocalAgent,
    agentId: string,
    query: Record<string, string>,
  ) {
    this.agentId = agentId;
    this.query = query;
    this.inputFormat = formatInfo(agent.options.inputFormat ?? "pcm_16000");
    this.outputFormat = formatInfo(agent.options.outputFormat ?? "pcm_16000");
    this.vad = new EnergyVad(this.inputFormat.sampleRate, agent.options.vad);
    const mode = agent.options.mode ?? "manual";
    this.script = mode === "manual" ? undefined : new ConversationScript(this);
    this.closed = new Promise((r) => {
      this.resolveClosed = r;
    });
    ws.on("message", this.onMessage);
    ws.on("close", this.onClose);
    ws.on("error", this.onError);
  }

  // ------------------------------------------------------------ what was seen (read-only views)

  /** The conversation_initiation_client_data object, when the client sent one. */
  get initiation(): Readonly<Record<string, unknown>> | undefined {
    return this.initiationData;
  }
  /** True once conversation_initiation_metadata was sent. */
  get metadataSent(): boolean {
    return this.metadataWasSent;
  }
  get received(): readonly ReceivedMessage[] {
    return this.receivedLog;
  }
  get sent(): readonly SentMessage[] {
    return this.sentLog;
  }
  get userMessages(): readonly string[] {
    return this.userMessageLog;
  }
  get contextualUpdates(): readonly string[] {
    return this.contextualUpdateLog;
  }
  get pongs(): ReadonlyArray<{
    readonly eventId: number;
    readonly rttMs: number | null;
    readonly atMs: number;
  }> {
    return this.pongLog;
  }
  get toolResults(): ReadonlyArray<Readonly<Record<string, unknown>>> {
    return this.toolResultLog;
  }
  /** Every `mcp_tool_approval_result` the client sent. */
  get mcpApprovals(): ReadonlyArray<Readonly<Record<string, unknown>>> {
    return this.mcpApprovalLog;
  }
  get userActivity(): number {
    return this.userActivityCount;
  }
  /** Client messages of a type this agent does not know (kept whole). */
  get unknown(): readonly unknown[] {
    return this.unknownLog;
  }
  /** Frames that are not valid protocol messages: non-JSON, binary, bad base64, odd PCM16 length. */
  get malformed(): ReadonlyArray<{
    readonly atMs: number;
    readonly problem: string;
    readonly sample: string;
  }> {
    return this.malformedLog;
  }
  get audioChunks(): number {
    return this.audioChunkCount;
  }
  /** Every response spoken, in order. */
  get responses(): ReadonlyArray<Readonly<ResponseRecord>> {
    return this.responseLog;
  }
  /** Caller turns detected by the VAD (script and echo modes), ms of caller audio. */
  get callerTurns(): ReadonlyArray<{ readonly startMs: number; readonly endMs: number }> {
    return this.script?.callerTurns ?? [];
  }
  /** event_id of every `interruption` sent. */
  get interruptions(): readonly number[] {
    return this.interruptionLog;
  }
  /** How the conversation closed; undefined while it is open. */
  get closeInfo(): ConversationClose | undefined {
    return this.closedWith;
  }
  /** The response whose audio is being sent now (not interrupted), if any. */
  get currentResponse(): Readonly<ResponseRecord> | undefined {
    const cur = this.current;
    return cur !== null && !cur.cancelled ? cur.rec : undefined;
  }
  /** performance.now() at which the audio sent so far has played out (estimated at real time). */
  get playEndAt(): number {
    return this.playEnd;
  }
  /** True once any agent audio was sent. */
  get audioSent(): boolean {
    return this.firstAudioSent;
  }

  /** The place (1 = first) of the response with `eventId` among those spoken; undefined if none. */
  responseNumber(eventId: number): number | undefined {
    const i = this.responseLog.findIndex((r) => r.eventId === eventId);
    return i < 0 ? undefined : i + 1;
  }

  /** Records what the caller heard of an interrupted response (agent_response_correction). */
  noteCorrection(eventId: number, corrected: string): void {
    const rec = this.responseLog.find((r) => r.eventId === eventId);
    if (rec === undefined) return;
    rec.interrupted = true;
    rec.corrected = corrected;
  }

  /** ms since the socket opened. */
  now(): number {
    return Math.round((performance.now() - this.openedAt) * 10) / 10;
  }

  get isOpen(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  /** Caller audio as received: PCM16 LE at the input rate, or mu-law bytes for ulaw_8000. */
  userAudio(): Buffer {
    return Buffer.concat(this.userAudioParts);
  }

  /** Caller audio decoded to PCM16 LE at the input rate (also for ulaw_8000). */
  userAudioPcm(): Buffer {
    return Buffer.concat(this.userPcmParts);
  }

  /** ms of caller audio received. */
  get userAudioMs(): number {
    return pcmMs(this.userPcmBytes, this.inputFormat.sampleRate);
  }

  /** Subscribes to everything sent and received; returns an unsubscribe function. */
  onEvent(cb: (e: ConversationEvent) => void): () => void {
    this.listeners.add(cb);
    return () => this.listeners.delete(cb);
  }

  /** Resolves when `predicate` holds (checked now and after every event); rejects after `timeoutMs`. */
  waitFor(predicate: (c: AgentConversation) => boolean, timeoutMs = 5000, what = "condition"): Promise<void> {
    if (predicate(this)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        off();
        reject(
          new Error(`${LABEL} conversation ${this.id}: timed out after ${timeoutMs} ms waiting for ${what}`),
        );
      }, timeoutMs);
      const off = this.onEvent(() => {
        if (predicate(this)) {
          clearTimeout(timer);
          off();
          resolve();
        }
      });
    });
  }

  // ------------------------------------------------------------ sending

  /** Sends a JSON message as is. */
  sendJson(obj: Record<string, unknown>): void {
    this.sendText(JSON.stringify(obj), typeof obj.type === "string" ? obj.type : "(no type)", obj);
  }

  /** Sends a raw frame: a string as a text frame, a Buffer as a binary frame. */
  sendRaw(data: string | Buffer): void {
    if (!this.isOpen) return;
    this.ws.send(data, { binary: Buffer.isBuffer(data) });
    this.record(
      {
        atMs: this.now(),
        type: "raw",
        message: Buffer.isBuffer(data) ? `<${data.length} binary bytes>` : data.slice(0, 200),
      },
      true,
    );
  }

  /** Sends PCM16 (at the output format's rate) as one audio event; mu-law encoded for ulaw_8000. */
  sendAudio(pcm: Buffer, eventId: number): void {
    if (this.outputFormat.ulaw && (pcm.length & 1) === 1) {
      // Encoding half a sample would shift every later sample: make the test say what it means.
      throw new RangeError("sendAudio: PCM16 of odd length cannot be mu-law encoded; use sendAudioBytes");
    }
    this.sendAudioBytes(encodeFor(this.outputFormat, pcm, this.outputFormat.sampleRate), eventId);
  }

  /** Sends bytes already in the output format as one audio event. */
  sendAudioBytes(bytes: Buffer, eventId: number): void {
    const ms = bytes.length / bytesPerMsOf(this.outputFormat);
    const now = performance.now();
    this.playEnd = Math.max(now, this.playEnd) + ms;
    this.firstAudioSent = true;
    this.sendText(
      JSON.stringify({
        type: "audio",
        audio_event: { audio_base_64: bytes.toString("base64"), event_id: eventId },
      }),
      "audio",
      { type: "audio", audio_event: { bytes: bytes.length, ms, event_id: eventId } },
    );
  }

  sendAgentResponse(text: string, eventId: number): void {
    this.sendJson({
      type: "agent_response",
      agent_response_event: { agent_response: text, event_id: eventId },
    });
  }

  sendUserTranscript(text: string, eventId: number): void {
    this.sendJson({
      type: "user_transcript",
      user_transcription_event: { user_transcript: text, event_id: eventId },
    });
  }

  /** Sends `interruption` for `eventId` and stops the response being spoken, if it is that one. */
  interrupt(eventId: number): void {
    const cur = this.current;
    if (cur && cur.rec.eventId <= eventId) {
      cur.cancelled = true;
      cur.rec.interrupted = true;
    }
    this.playEnd = performance.now();
    this.interruptionLog.push(eventId);
    this.sendJson({ type: "interruption", interruption_event: { event_id: eventId } });
  }

  /**
   * Calls a client tool (`client_tool_call`) and resolves with the client's `client_tool_result`,
   * or rejects after `timeoutMs` or when the conversation closes first.
   */
  callTool(
    name: string,
    parameters: Readonly<Record<string, unknown>> = {},
    timeoutMs = 10_000,
  ): Promise<ToolResult> {
    const toolCallId = `toolu_local_${randomUUID().replaceAll("-", "").slice(0, 12)}`;
    const result = new Promise<ToolResult>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pendingTools.delete(toolCallId);
        reject(new Error(`${LABEL} tool ${name}: no client_tool_result within ${timeoutMs} ms`));
      }, timeoutMs);
      const onClose = this.closed.then(() => {
        if (!this.pendingTools.delete(toolCallId)) return;
        clearTimeout(timer);
        reject(new Error(`${LABEL} tool ${name}: conversation closed before its result`));
      });
      void onClose;
      this.pendingTools.set(toolCallId, (r) => {
        clearTimeout(timer);
        resolve(r);
      });
    });
    this.sendJson({
      type: "client_tool_call",
      client_tool_call: {
        tool_name: name,
        tool_call_id: toolCallId,
        parameters,
        event_id: this.newEventId(),
      },
    });
    return result;
  }

  /**
   * An MCP tool call that needs the client's approval: `mcp_tool_call` in state
   * `awaiting_approval`. Resolves with the client's `mcp_tool_approval_result` (true = approved),
   * or false when none comes within the approval timeout or the conversation closes first. When
   * approved, the tool "runs": `mcp_tool_call` in state `loading`, then `success`.
   */
  requestMcpApproval(
    name: string,
    parameters: Readonly<Record<string, unknown>> = {},
    approvalTimeoutSecs = 30,
  ): Promise<boolean> {
    const toolCallId = `mcp_local_${randomUUID().replaceAll("-", "").slice(0, 12)}`;
    const call = (state: string, extra: Record<string, unknown> = {}): void =>
      this.sendJson({
        type: "mcp_tool_call",
        mcp_tool_call: {
          service_id: "local-test-mcp",
          tool_call_id: toolCallId,
          tool_name: name,
          parameters,
          timestamp: new Date().toISOString(),
          state,
          ...extra,
        },
      });
    const decided = new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        this.pendingApprovals.delete(toolCallId);
        resolve(false);
      }, approvalTimeoutSecs * 1000);
      void this.closed.then(() => {
        if (!this.pendingApprovals.delete(toolCallId)) return;
        clearTimeout(timer);
        resolve(false);
      });
      this.pendingApprovals.set(toolCallId, (approved) => {
        clearTimeout(timer);
        resolve(approved);
      });
    });
    call("awaiting_approval", { approval_timeout_secs: approvalTimeoutSecs });
    return decided.then((approved) => {
      if (approved && this.isOpen) {
        call("loading");
        call("success", { result: [{ type: "text", text: "done (local test agent)" }] });
      }
      return approved;
    });
  }

  /** Sends a ping now; returns its event_id. */
  ping(): number {
    const id = this.nextPingId++;
    this.pingSentAt.set(id, performance.now());
    this.sendJson({ type: "ping", ping_event: { event_id: id, ping_ms: this.lastRttMs } });
    return id;
  }

  /** A fresh event id (shared by responses and transcripts, increasing). */
  newEventId(): number {
    return this.nextEventId++;
  }

  /**
   * Speaks an utterance: `agent_response` text, then its audio in chunks faster than real time.
   * Resolves when all of it was sent or it was interrupted; `playedUntil` estimates when it ends.
   */
  async speak(
    u: Utterance,
    options: { eventId?: number; delayAudioMs?: number } = {},
  ): Promise<ResponseRecord> {
    const eventId = options.eventId ?? this.newEventId();
    const bytes = this.agent.encodedUtterance(u, this.outputFormat);
    const bpm = bytesPerMsOf(this.outputFormat);
    const rec: ResponseRecord = {
      eventId,
      text: u.text,
      audioMs: bytes.length / bpm,
      startedAtMs: -1,
      sentMs: 0,
      interrupted: false,
      done: false,
    };
    this.responseLog.push(rec);
    const state = { rec, cancelled: false };
    this.current = state;
    this.sendAgentResponse(u.text, eventId);
    if (options.delayAudioMs) await sleep(options.delayAudioMs);
    const chunkMs = this.agent.options.audioChunkMs ?? 250;
    const speedup = this.agent.options.audioSpeedup ?? 4;
    const chunkBytes = Math.max(1, Math.round(chunkMs * bpm)) & ~(this.outputFormat.ulaw ? 0 : 1);
    const started = performance.now();
    for (let off = 0; off < bytes.length; off += chunkBytes) {
      if (state.cancelled || !this.isOpen) break;
      if (off > 0 && Number.isFinite(speedup)) {
        const due = started + off / bpm / speedup;
        const wait = due - performance.now();
        if (wait > 0) await sleep(wait);
        if (state.cancelled || !this.isOpen) break;
      }
      const chunk = bytes.subarray(off, Math.min(bytes.length, off + chunkBytes));
      if (rec.startedAtMs < 0) rec.startedAtMs = Math.max(this.now(), this.playEnd - this.openedAt);
      this.sendAudioBytes(chunk, eventId);
      rec.sentMs += chunk.length / bpm;
    }
    rec.done = true;
    if (this.current === state) this.current = null;
    return rec;
  }

  /** True while the estimated playback of sent audio has not finished. */
  get agentSpeaking(): boolean {
    return performance.now() < this.playEnd;
  }

  /** Closes the conversation from the agent side. */
  close(code = 1000, reason = ""): void {
    if (this.ws.readyState === WebSocket.CLOSED || this.ws.readyState === WebSocket.CLOSING) return;
    this.closeSentFirst = true;
    this.log(`closing ${code}${reason ? ` (${reason})` : ""}`);
    this.ws.close(code, reason);
    const t = setTimeout(() => this.ws.terminate(), 1000);
    t.unref();
  }

  /** Drops the TCP connection without a close frame. */
  drop(): void {
    this.closeSentFirst = true;
    this.log("dropping the connection (no close frame)");
    this.ws.terminate();
  }

  // ------------------------------------------------------------ lifecycle (driven by LocalAgent)

  /** Called by the agent once the socket is open. */
  start(): void {
    const wait = this.agent.options.initiationWaitMs ?? 1000;
    this.later(() => this.afterInitiation(), wait);
  }

  private initiationHandled = false;

  /** Runs `fn` in `ms` unless the conversation has closed by then. */
  later(fn: () => void, ms: number): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
  }

  private afterInitiation(): void {
    if (this.initiationHandled || !this.isOpen) return;
    this.initiationHandled = true;
    const missing = (this.agent.options.requiredDynamicVariables ?? []).filter((name) => {
      const vars = this.initiationData?.dynamic_variables as Record<string, unknown> | undefined;
      return vars === undefined || !(name in vars);
    });
    if (missing.length > 0) {
      fail1008(this, "missing_dynamic_variable", `Missing required dynamic variables: ${missing.join(", ")}`);
      return;
    }
    if (onConversationStart(this, this.agent.options.failure) === "stop") return;
    // Set before sending, so waitFor() predicates on it see it when the "sent" event fires.
    this.metadataWasSent = true;
    this.sendJson({
      type: "conversation_initiation_metadata",
      conversation_initiation_metadata_event: {
        conversation_id: this.id,
        // Without them the client must fall back on the documented default (pcm_16000 both ways).
        ...(this.agent.options.announceFormats !== false && {
          agent_output_audio_format: this.outputFormat.name,
          user_input_audio_format: this.inputFormat.name,
        }),
      },
    });
    const inputTimeout = this.agent.options.userInputTimeoutMs;
    if (inputTimeout !== undefined) {
      this.lastUserAudioAt = performance.now();
      this.inputTimer = setInterval(
        () => {
          if (performance.now() - this.lastUserAudioAt < inputTimeout) return;
          this.log(`no user audio for ${inputTimeout} ms`);
          this.close(1002, "no user input (local test agent)");
        },
        Math.min(1000, inputTimeout / 4),
      );
    }
    const pingMs = this.agent.options.pingIntervalMs ?? 2000;
    if (pingMs > 0) {
      this.pingTimer = setInterval(() => {
        if (this.isOpen) this.ping();
      }, pingMs);
    }
    this.script?.start(this.wantsGreeting());
  }

  private wantsGreeting(): boolean {
    if (this.agent.options.greeting === false) return false;
    const override = this.initiationData?.conversation_config_override as
      | { agent?: { first_message?: unknown } }
      | undefined;
    // An empty first_message means the agent waits for the caller to speak first.
    return override?.agent?.first_message !== "";
  }

  // ------------------------------------------------------------ receiving

  private readonly onMessage = (data: WebSocket.RawData, isBinary: boolean): void => {
    const buf = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
    if (isBinary) {
      this.onMalformed("binary frame", `<${buf.length} bytes>`);
      return;
    }
    const text = buf.toString("utf8");
    let msg: unknown;
    try {
      msg = JSON.parse(text);
    } catch {
      this.onMalformed("not JSON", text);
      return;
    }
    if (msg === null || typeof msg !== "object" || Array.isArray(msg)) {
      this.onMalformed("not a JSON object", text);
      return;
    }
    const m = msg as Record<string, unknown>;
    if (typeof m.user_audio_chunk === "string" && m.type === undefined) {
      this.onUserAudio(m.user_audio_chunk);
    } else {
      this.onTyped(m);
    }
    // The first client message ends the wait for conversation_initiation_client_data.
    if (!this.initiationHandled) this.afterInitiation();
  };

  private onTyped(m: Record<string, unknown>): void {
    const type = typeof m.type === "string" ? m.type : "(no type)";
    const atMs = this.now();
    // State first, then the event: waitFor() predicates see the new state when they run.
    this.applyTyped(type, m);
    this.record({ atMs, type, message: m });
  }

  private applyTyped(type: string, m: Record<string, unknown>): void {
    switch (type) {
      case "conversation_initiation_client_data":
        if (this.initiationData !== undefined || this.metadataWasSent)
          this.onMalformed("conversation_initiation_client_data not first", JSON.stringify(m));
        else this.initiationData = m;
        return;
      case "pong": {
        const id = typeof m.event_id === "number" ? m.event_id : Number(m.event_id);
        const at = this.pingSentAt.get(id);
        const rtt = at === undefined ? null : Math.round(performance.now() - at);
        this.pingSentAt.delete(id);
        if (rtt !== null) this.lastRttMs = rtt;
        this.pongLog.push({ eventId: id, rttMs: rtt, atMs: this.now() });
        return;
      }
      case "user_message":
        this.userMessageLog.push(String(m.text));
        this.log(`user_message: ${JSON.stringify(m.text)}`);
        if (this.metadataWasSent) this.script?.onUserMessage();
        return;
      case "contextual_update":
        this.contextualUpdateLog.push(String(m.text));
        this.log(`contextual_update: ${JSON.stringify(m.text)}`);
        return;
      case "client_tool_result": {
        this.toolResultLog.push(m);
        const id = typeof m.tool_call_id === "string" ? m.tool_call_id : "";
        const waiting = this.pendingTools.get(id);
        this.pendingTools.delete(id);
        waiting?.({ toolCallId: id, result: m.result, isError: m.is_error === true });
        return;
      }
      case "user_activity":
        this.userActivityCount++;
        return;
      case "mcp_tool_approval_result": {
        this.mcpApprovalLog.push(m);
        const id = typeof m.tool_call_id === "string" ? m.tool_call_id : "";
        const waiting = this.pendingApprovals.get(id);
        this.pendingApprovals.delete(id);
        waiting?.(m.is_approved === true);
        return;
      }
      default:
        this.unknownLog.push(m);
        this.log(`unknown client message type ${type}`);
    }
  }

  private onUserAudio(b64: string): void {
    this.audioChunkCount++;
    this.lastUserAudioAt = performance.now();
    if ((b64.length & 3) !== 0 || !STRICT_BASE64.test(b64)) {
      this.onMalformed("user_audio_chunk is not strict base64", b64);
      return;
    }
    const raw = Buffer.from(b64, "base64");
    if (!this.inputFormat.ulaw && (raw.length & 1) === 1) {
      this.malformedLog.push({
        atMs: this.now(),
        problem: "odd PCM16 chunk length",
        sample: String(raw.length),
      });
    }
    const pcm = decodeFrom(this.inputFormat, raw);
    this.userAudioParts.push(raw);
    this.userPcmParts.push(pcm);
    this.userPcmBytes += pcm.length;
    this.emit({
      kind: "received",
      message: { atMs: this.now(), type: "user_audio_chunk", message: { bytes: raw.length } },
    });
    if (this.script === undefined) return;
    // The VAD sees all caller audio (its clock is caller-audio time), but turns count only once
    // the conversation has started.
    const events = this.vad.push(pcm);
    if (!this.metadataWasSent) return;
    for (const e of events) {
      if (e.type === "speech_start") this.script.onSpeechStart(e.atMs);
      else this.script.onSpeechEnd(e.startMs, e.atMs);
    }
  }

  private onMalformed(problem: string, sample: string): void {
    const rec = { atMs: this.now(), problem, sample: sample.slice(0, 200) };
    this.malformedLog.push(rec);
    this.log(`malformed client frame: ${problem}`);
    this.emit({ kind: "received", message: { atMs: rec.atMs, type: "malformed", message: rec } });
  }

  // ------------------------------------------------------------ plumbing

  private sendText(text: string, type: string, summary: unknown): void {
    if (!this.isOpen) return;
    this.ws.send(text);
    this.record({ atMs: this.now(), type, message: summary }, true);
  }

  private record(message: SentMessage | ReceivedMessage, sent = false): void {
    if (sent) {
      this.sentLog.push(message);
      this.emit({ kind: "sent", message });
    } else {
      this.receivedLog.push(message);
      this.emit({ kind: "received", message });
    }
  }

  private emit(e: ConversationEvent): void {
    for (const cb of this.listeners) {
      try {
        cb(e);
      } catch {
        // a listener's failure is its own business
      }
    }
  }

  log(line: string): void {
    this.agent.log(`${this.id}: ${line}`);
  }

  private readonly onClose = (code: number, reasonBuf: Buffer): void => {
    if (this.pingTimer) clearInterval(this.pingTimer);
    if (this.inputTimer) clearInterval(this.inputTimer);
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.script?.dispose();
    if (this.current) this.current.cancelled = true;
    const reason = reasonBuf.toString("utf8");
    const by = this.closeSentFirst ? "agent" : "client";
    const info: ConversationClose = { code, reason, by };
    this.closedWith = info;
    this.log(`closed ${code}${reason ? ` ${reason}` : ""} (by ${by})`);
    this.emit({ kind: "closed", code, reason, by });
    this.resolveClosed(info);
  };

  private readonly onError = (err: Error): void => {
    this.log(`socket error: ${err.message}`);
  };
}
