/**
 * LOCAL TEST AGENT: a stand-in for an ElevenLabs Agents (Conversational AI) server, speaking the
 * protocol in /work/shared/protocols/elevenlabs.md over real HTTP and WebSocket. It is NOT
 * ElevenLabs: it has no speech recognition and no LLM. It plays shipped prompts
 * (fixtures/agent-prompt-*-16k.wav), detects caller turns with an energy VAD, and can fail on
 * purpose. Written independently of the bridge's protocol modules (app/src/elevenlabs, app/src/call):
 * only the bridge's pure audio helpers (resampler, mu-law) are reused.
 *
 * HTTP surface (same paths as the real service, so the bridge only needs ELEVENLABS_BASE_URL):
 *   GET /v1/convai/conversation/get-signed-url?agent_id=ID   header xi-api-key
 *       200 {"signed_url":"ws://HOST/v1/convai/conversation?agent_id=ID&conversation_signature=SIG"}
 *       401 wrong or missing key, 404 unknown agent. Signatures are single-use and expire.
 *   WS  /v1/convai/conversation?agent_id=ID[&conversation_signature=SIG]
 *       with an API key configured a valid signature is required (401 without, 403 when bad);
 *       in public mode (no key) any known agent is accepted. Unknown agent: 404.
 *
 * Conversation protocol: waits for the optional `conversation_initiation_client_data` (recorded;
 * any other first message is recorded and the conversation just proceeds), sends
 * `conversation_initiation_metadata`, sends `ping` every `pingIntervalMs`, records everything the
 * client sends (audio decoded per `inputFormat`, pongs, user messages, contextual updates, tool
 * results, user activity, unknown and malformed frames).
 *
 * Modes:
 *   manual  metadata and pings only; the test drives the conversation through its handle.
 *   script  greeting, then one shipped prompt per caller turn (energy VAD: speech start/end with
 *           hangover); `agent_response` + a `user_transcript` placeholder ("(caller spoke 1.8 s)");
 *           audio in 250 ms chunks sent faster than real time; barge-in while a response is still
 *           playing (real-time estimate from when its audio was sent) -> `interruption`, the rest of
 *           that response is dropped, then `agent_response_correction`. A `user_message` (DTMF from
 *           the bridge) is answered like a turn. Optional end_call after N completed replies.
 *   echo    like script, but each caller turn is answered by playing the caller's utterance back.
 *
 * Usage in tests:
 *   const agent = await startLocalAgent({ apiKey: "k", mode: "manual", outputFormat: "pcm_8000" });
 *   // bridge env: ELEVENLABS_BASE_URL=agent.url, ELEVENLABS_API_KEY="k", ELEVENLABS_AGENT_ID=agent.agentIds[0]
 *   const conv = await agent.nextConversation(5000);
 *   await conv.waitFor((c) => c.userAudio().length > 16000, 5000);
 *   await conv.speak({ text: "hi", pcm, sampleRate: 16000 });   // or conv.sendAudio(pcm, eventId)
 *   conv.sendRaw("{not json"); conv.interrupt(eventId); conv.close(1011, "boom");
 *   const { code, by } = await conv.closed;
 *   await agent.close();
 */
import { randomBytes, randomUUID, timingSafeEqual } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import { fileURLToPath } from "node:url";
import { WebSocket, WebSocketServer } from "ws";
import { pcm16ToUlaw, ulawToPcm16 } from "../../app/src/audio/mulaw.js";
import { convertRate, EnergyVad, msBytes, pcmMs, type VadOptions } from "./audio.js";
import { readMonoWav } from "./wav.js";

export const AGENT_AUDIO_FORMATS = [
  "pcm_8000",
  "pcm_16000",
  "pcm_22050",
  "pcm_24000",
  "pcm_44100",
  "pcm_48000",
  "ulaw_8000",
] as const;
export type AgentAudioFormat = (typeof AGENT_AUDIO_FORMATS)[number];

export type AgentMode = "manual" | "script" | "echo";

/** Failures the local test agent can produce on purpose. */
export type AgentFailure =
  /** The signed-URL endpoint answers 401 whatever the key (and signatures are never valid). */
  | { readonly kind: "bad_key" }
  /** Every agent id is unknown: signed URL and upgrade answer 404. */
  | { readonly kind: "unknown_agent" }
  /** Typed `error` event (error_event shape) instead of metadata, then close 1008. */
  | { readonly kind: "error_1008"; readonly errorType?: string; readonly message?: string }
  /** Flat `{"type":"error","message":...}` then close 1002, `afterMs` after metadata (instead of it when omitted). */
  | { readonly kind: "flat_error_1002"; readonly message?: string; readonly afterMs?: number }
  /** Accepts the socket but never sends metadata. */
  | { readonly kind: "silence" }
  /** Closes 1011 `afterMs` after metadata. */
  | { readonly kind: "close_1011"; readonly afterMs: number }
  /** Drops the TCP connection without a close frame (the client sees 1006) `afterMs` after metadata. */
  | { readonly kind: "drop"; readonly afterMs: number }
  /** Delays the first audio of the conversation by `delayMs` (after its agent_response). */
  | { readonly kind: "slow_first_audio"; readonly delayMs: number };

/** Something the agent can say: text for transcripts, PCM16 mono audio at `sampleRate`. */
export interface Utterance {
  readonly text: string;
  readonly pcm: Buffer;
  readonly sampleRate: number;
}

export interface ScriptPrompts {
  readonly greeting: Utterance;
  /** Cycled through for ordinary caller turns. */
  readonly replies: readonly Utterance[];
  /** Answer to a turn that interrupted the agent. */
  readonly afterInterruption: Utterance;
  /** Answer to a `user_message` (the bridge sends DTMF digits that way). */
  readonly afterUserMessage: Utterance;
  readonly goodbye: Utterance;
}

export interface LocalAgentOptions {
  readonly port?: number;
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** When set, the signed-URL endpoint requires it and the WebSocket requires a signature. */
  readonly apiKey?: string;
  /** Known agent ids; default ["local-test-agent"]. */
  readonly agents?: readonly string[];
  /** Announced in metadata and used for the audio sent; default pcm_16000 (ElevenLabs' default). */
  readonly outputFormat?: AgentAudioFormat;
  /** Announced in metadata and used to decode user_audio_chunk; default pcm_16000. */
  readonly inputFormat?: AgentAudioFormat;
  /** Default "manual" (tests drive it); the CLI and demo use "script". */
  readonly mode?: AgentMode;
  /** Ping period; 0 disables pings. Default 2000 ms. */
  readonly pingIntervalMs?: number;
  readonly failure?: AgentFailure;
  /** Wait at most this long for conversation_initiation_client_data before sending metadata. Default 1000 ms. */
  readonly initiationWaitMs?: number;
  /** Dynamic variables the "agent prompt" references: missing ones fail with missing_dynamic_variable (1008). */
  readonly requiredDynamicVariables?: readonly string[];
  /** Audio chunk size sent to the client. Default 250 ms. */
  readonly audioChunkMs?: number;
  /** How much faster than real time audio is sent; Infinity sends a response at once. Default 4. */
  readonly audioSpeedup?: number;
  /** "Thinking" time between the end of a caller turn and the reply. Default 300 ms. */
  readonly responseDelayMs?: number;
  /** Script/echo: speak the greeting first. Default true (an empty first_message override also disables it). */
  readonly greeting?: boolean;
  /** Script/echo: after this many replies played to the end, say goodbye, send end_call, close 1000. */
  readonly endCallAfterReplies?: number;
  /** Prompts for script mode; default: the shipped fixtures/agent-prompt-*-16k.wav. */
  readonly prompts?: ScriptPrompts;
  readonly vad?: VadOptions;
  /** Signed URL lifetime. Default 15 min (as documented for the real service). */
  readonly signatureTtlMs?: number;
  /**
   * Close 1002 after this long without any user_audio_chunk (the real service: 60 s), which
   * catches a bridge that stops streaming silence. Default: off.
   */
  readonly userInputTimeoutMs?: number;
  /** Log sink for human-readable lines (each starts with "[local test agent]"). Default: silent. */
  readonly log?: (line: string) => void;
}

/** A client message as recorded (audio is summarised, not kept here: see userAudio()). */
export interface ReceivedMessage {
  /** ms since the conversation socket opened. */
  readonly atMs: number;
  /** `type`, or "user_audio_chunk", or "malformed". */
  readonly type: string;
  readonly message: unknown;
}

export interface SentMessage {
  readonly atMs: number;
  readonly type: string;
  /** The object sent (audio payloads replaced by their byte count), or the raw text/bytes. */
  readonly message: unknown;
}

export interface ResponseRecord {
  readonly eventId: number;
  readonly text: string;
  /** Total audio ms of the response. */
  readonly audioMs: number;
  /** ms since open when its first audio chunk was sent (-1 before). */
  startedAtMs: number;
  /** Audio ms actually sent before it finished or was interrupted. */
  sentMs: number;
  interrupted: boolean;
  /** For interrupted responses: the text as heard (agent_response_correction). */
  corrected?: string;
  done: boolean;
}

export type ConversationEvent =
  | { readonly kind: "received"; readonly message: ReceivedMessage }
  | { readonly kind: "sent"; readonly message: SentMessage }
  | {
      readonly kind: "closed";
      readonly code: number;
      readonly reason: string;
      readonly by: "agent" | "client";
    };

export interface ConversationClose {
  readonly code: number;
  readonly reason: string;
  /** Who sent the close first. */
  readonly by: "agent" | "client";
}

interface FormatInfo {
  readonly name: AgentAudioFormat;
  readonly ulaw: boolean;
  readonly sampleRate: number;
}

function formatInfo(name: AgentAudioFormat): FormatInfo {
  const [enc, rate] = name.split("_") as [string, string];
  return { name, ulaw: enc === "ulaw", sampleRate: Number(rate) };
}

const DEFAULT_AGENT_ID = "local-test-agent";
const LABEL = "[local test agent]";
const SIGNED_URL_PATH = "/v1/convai/conversation/get-signed-url";
const CONVERSATION_PATH = "/v1/convai/conversation";
/** Not part of the ElevenLabs API: a server-sent-events feed of what the local test agent says and hears. */
export const EVENTS_PATH = "/local-test-agent/events";
const STRICT_BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

const FIXTURES = fileURLToPath(new URL("../../fixtures/", import.meta.url));

/** The shipped spoken prompts (generated with espeak-ng; see fixtures/README.md). */
export function shippedPrompts(): ScriptPrompts {
  const load = (name: string, text: string): Utterance => {
    const wav = readMonoWav(`${FIXTURES}agent-prompt-${name}-16k.wav`);
    return { text, pcm: wav.pcm, sampleRate: wav.sampleRate };
  };
  return {
    greeting: load("greeting", "Hello, this is the local test agent. How can I help you?"),
    replies: [
      load(
        "order-status",
        "Your order four five six seven was shipped yesterday, and it will arrive on Friday. Is there anything else I can help you with?",
      ),
      load("anything-else", "Is there anything else I can help you with?"),
    ],
    afterInterruption: load("go-ahead", "Sorry, go ahead. I am listening."),
    afterUserMessage: load("digits", "Thank you, I got the digits you entered."),
    goodbye: load("goodbye", "Thank you for calling. Goodbye!"),
  };
}

/** PCM16 at any rate -> bytes in `format` (resampled, mu-law encoded when needed). */
function encodeFor(format: FormatInfo, pcm: Buffer, sampleRate: number): Buffer {
  const atRate = convertRate(pcm, sampleRate, format.sampleRate);
  return format.ulaw ? pcm16ToUlaw(atRate) : atRate;
}

function bytesPerMsOf(format: FormatInfo): number {
  return ((format.ulaw ? 1 : 2) * format.sampleRate) / 1000;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Shortens `text` to about `fraction` of its words, for agent_response_correction. */
function truncateWords(text: string, fraction: number): string {
  const words = text.split(/\s+/).filter(Boolean);
  const keep = Math.max(0, Math.min(words.length, Math.floor(words.length * fraction)));
  return keep === 0 ? "..." : `${words.slice(0, keep).join(" ")}...`;
}

/** A human-readable line for a conversation event worth showing (transcripts, barge-in, tools). */
export interface Narration {
  /** ms since the conversation opened. */
  readonly atMs: number;
  readonly who: "agent" | "caller";
  readonly text: string;
}

/** What the demo, `npm run agent` and the events feed print; undefined for events not worth a line. */
export function narrate(e: ConversationEvent): Narration | undefined {
  if (e.kind === "closed")
    return { atMs: -1, who: "agent", text: `conversation closed ${e.code} by the ${e.by}` };
  const { atMs, type } = e.message;
  const m = e.message.message as Record<string, Record<string, unknown> | string | undefined>;
  const field = (key: string, sub: string) => (m[key] as Record<string, unknown> | undefined)?.[sub];
  if (e.kind === "received") {
    if (type === "user_message") return { atMs, who: "agent", text: `received user_message "${m.text}"` };
    if (type === "contextual_update")
      return { atMs, who: "agent", text: `received contextual_update "${m.text}"` };
    return undefined;
  }
  switch (type) {
    case "conversation_initiation_metadata":
      return {
        atMs,
        who: "agent",
        text: `conversation ${field("conversation_initiation_metadata_event", "conversation_id")} started (local test agent)`,
      };
    case "agent_response":
      return { atMs, who: "agent", text: `says: "${field("agent_response_event", "agent_response")}"` };
    case "user_transcript":
      return {
        atMs,
        who: "agent",
        text: `heard the caller: ${field("user_transcription_event", "user_transcript")}`,
      };
    case "interruption":
      return {
        atMs,
        who: "agent",
        text: `interrupted by the caller (response ${field("interruption_event", "event_id")})`,
      };
    case "agent_response_correction":
      return {
        atMs,
        who: "agent",
        text: `was heard up to: "${field("agent_response_correction_event", "corrected_agent_response")}"`,
      };
    case "agent_tool_response":
      return { atMs, who: "agent", text: `calls tool ${field("agent_tool_response", "tool_name")}` };
    default:
      return undefined;
  }
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
  /** The conversation_initiation_client_data object, when the client sent one. */
  initiation: Record<string, unknown> | undefined;
  /** True once conversation_initiation_metadata was sent. */
  metadataSent = false;
  readonly received: ReceivedMessage[] = [];
  readonly sent: SentMessage[] = [];
  readonly userMessages: string[] = [];
  readonly contextualUpdates: string[] = [];
  readonly pongs: Array<{ eventId: number; rttMs: number | null; atMs: number }> = [];
  readonly toolResults: Array<Record<string, unknown>> = [];
  userActivity = 0;
  /** Client messages of a type this agent does not know (kept whole). */
  readonly unknown: unknown[] = [];
  /** Frames that are not valid protocol messages: non-JSON, binary, bad base64, odd PCM16 length. */
  readonly malformed: Array<{ atMs: number; problem: string; sample: string }> = [];
  audioChunks = 0;
  readonly responses: ResponseRecord[] = [];
  /** Caller turns detected by the VAD, ms of caller audio. */
  readonly callerTurns: Array<{ startMs: number; endMs: number }> = [];
  readonly interruptions: number[] = [];
  closeInfo: ConversationClose | undefined;
  /** Resolves when the socket has closed. */
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

  // Script/echo state.
  private readonly vad: EnergyVad;
  private pendingReply: NodeJS.Timeout | null = null;
  private replyChain: Promise<void> = Promise.resolve();
  private repliesCompleted = 0;
  private replyIndex = 0;
  private interruptedThisTurn = false;
  private ending = false;

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
    this.closed = new Promise((r) => {
      this.resolveClosed = r;
    });
    ws.on("message", this.onMessage);
    ws.on("close", this.onClose);
    ws.on("error", this.onError);
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
    this.sendAudioBytes(this.outputFormat.ulaw ? pcm16ToUlaw(pcm) : pcm, eventId);
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
    this.interruptions.push(eventId);
    this.sendJson({ type: "interruption", interruption_event: { event_id: eventId } });
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
    this.responses.push(rec);
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
    this.later(() => this.afterInitiation(), wait, "initiation-wait");
  }

  private initiationHandled = false;

  private afterInitiation(): void {
    if (this.initiationHandled || !this.isOpen) return;
    this.initiationHandled = true;
    const failure = this.agent.options.failure;
    const missing = (this.agent.options.requiredDynamicVariables ?? []).filter((name) => {
      const vars = this.initiation?.dynamic_variables as Record<string, unknown> | undefined;
      return vars === undefined || !(name in vars);
    });
    if (missing.length > 0) {
      this.fail1008("missing_dynamic_variable", `Missing required dynamic variables: ${missing.join(", ")}`);
      return;
    }
    switch (failure?.kind) {
      case "silence":
        this.log("failure mode silence: never sending metadata");
        return;
      case "error_1008":
        this.fail1008(
          failure.errorType ?? "missing_dynamic_variable",
          failure.message ?? "Missing required dynamic variables: customer_name",
        );
        return;
      case "flat_error_1002":
        if (failure.afterMs === undefined) {
          this.flatError(failure.message);
          return;
        }
        this.later(() => this.flatError(failure.message), failure.afterMs, "flat-error");
        break;
      case "close_1011":
        this.later(
          () => this.close(1011, "local test agent: internal error (failure mode)"),
          failure.afterMs,
          "1011",
        );
        break;
      case "drop":
        this.later(() => this.drop(), failure.afterMs, "drop");
        break;
      default:
        break;
    }
    // Set before sending, so waitFor() predicates on it see it when the "sent" event fires.
    this.metadataSent = true;
    this.sendJson({
      type: "conversation_initiation_metadata",
      conversation_initiation_metadata_event: {
        conversation_id: this.id,
        agent_output_audio_format: this.outputFormat.name,
        user_input_audio_format: this.inputFormat.name,
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
    const mode = this.agent.options.mode ?? "manual";
    if (mode !== "manual" && this.wantsGreeting()) {
      this.queueReply(() => this.agent.prompts().greeting);
    }
  }

  private wantsGreeting(): boolean {
    if (this.agent.options.greeting === false) return false;
    const override = this.initiation?.conversation_config_override as
      | { agent?: { first_message?: unknown } }
      | undefined;
    // An empty first_message means the agent waits for the caller to speak first.
    return override?.agent?.first_message !== "";
  }

  private fail1008(errorType: string, message: string): void {
    this.log(`error ${errorType}: ${message}; closing 1008`);
    this.sendJson({
      type: "error",
      error_event: { code: 1008, message, error_type: errorType, reason: message },
    });
    this.close(1008, errorType);
  }

  private flatError(message = "Quota exceeded (local test agent failure mode)"): void {
    this.sendJson({ type: "error", message });
    this.close(1002, "local test agent: operational failure (failure mode)");
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
        if (this.initiation !== undefined || this.metadataSent)
          this.onMalformed("conversation_initiation_client_data not first", JSON.stringify(m));
        else this.initiation = m;
        return;
      case "pong": {
        const id = typeof m.event_id === "number" ? m.event_id : Number(m.event_id);
        const at = this.pingSentAt.get(id);
        const rtt = at === undefined ? null : Math.round(performance.now() - at);
        this.pingSentAt.delete(id);
        if (rtt !== null) this.lastRttMs = rtt;
        this.pongs.push({ eventId: id, rttMs: rtt, atMs: this.now() });
        return;
      }
      case "user_message":
        this.userMessages.push(String(m.text));
        this.log(`user_message: ${JSON.stringify(m.text)}`);
        this.onUserMessage();
        return;
      case "contextual_update":
        this.contextualUpdates.push(String(m.text));
        this.log(`contextual_update: ${JSON.stringify(m.text)}`);
        return;
      case "client_tool_result":
        this.toolResults.push(m);
        return;
      case "user_activity":
        this.userActivity++;
        return;
      default:
        this.unknown.push(m);
        this.log(`unknown client message type ${type}`);
    }
  }

  private onUserAudio(b64: string): void {
    this.audioChunks++;
    this.lastUserAudioAt = performance.now();
    if ((b64.length & 3) !== 0 || !STRICT_BASE64.test(b64)) {
      this.onMalformed("user_audio_chunk is not strict base64", b64);
      return;
    }
    const raw = Buffer.from(b64, "base64");
    if (!this.inputFormat.ulaw && (raw.length & 1) === 1) {
      this.malformed.push({
        atMs: this.now(),
        problem: "odd PCM16 chunk length",
        sample: String(raw.length),
      });
    }
    const pcm = this.inputFormat.ulaw ? ulawToPcm16(raw) : raw;
    this.userAudioParts.push(raw);
    this.userPcmParts.push(pcm);
    this.userPcmBytes += pcm.length;
    this.emit({
      kind: "received",
      message: { atMs: this.now(), type: "user_audio_chunk", message: { bytes: raw.length } },
    });
    const mode = this.agent.options.mode ?? "manual";
    if (mode === "manual") return;
    // The VAD sees all caller audio (its clock is caller-audio time), but turns count only once
    // the conversation has started.
    const events = this.vad.push(pcm);
    if (!this.metadataSent) return;
    for (const e of events) {
      if (e.type === "speech_start") this.onSpeechStart(e.atMs);
      else this.onSpeechEnd(e.startMs, e.atMs);
    }
  }

  private onMalformed(problem: string, sample: string): void {
    const rec = { atMs: this.now(), problem, sample: sample.slice(0, 200) };
    this.malformed.push(rec);
    this.log(`malformed client frame: ${problem}`);
    this.emit({ kind: "received", message: { atMs: rec.atMs, type: "malformed", message: rec } });
  }

  // ------------------------------------------------------------ script / echo behaviour

  private onSpeechStart(atMs: number): void {
    // The caller started again before the reply began: the turn goes on.
    if (this.pendingReply) {
      clearTimeout(this.pendingReply);
      this.timers.delete(this.pendingReply);
      this.pendingReply = null;
    }
    const cur = this.current;
    const playing = this.agentSpeaking || (cur !== null && !cur.cancelled);
    this.log(
      `caller speech start at ${(atMs / 1000).toFixed(2)} s of caller audio${playing ? " (agent speaking)" : ""}`,
    );
    if (!playing || this.ending) return;
    // Barge-in: the response still playing is the last one started.
    const rec = cur?.rec ?? this.responses[this.responses.length - 1];
    if (rec === undefined) return;
    const heardMs = rec.startedAtMs < 0 ? 0 : Math.max(0, this.now() - rec.startedAtMs);
    this.interruptedThisTurn = true;
    rec.interrupted = true;
    this.interrupt(rec.eventId);
    rec.corrected = truncateWords(rec.text, heardMs / Math.max(1, rec.audioMs));
    this.log(`interrupted response ${rec.eventId} after ${(heardMs / 1000).toFixed(1)} s`);
    this.sendJson({
      type: "agent_response_correction",
      agent_response_correction_event: {
        original_agent_response: rec.text,
        corrected_agent_response: rec.corrected,
        event_id: rec.eventId,
      },
    });
  }

  private onSpeechEnd(startMs: number, endMs: number): void {
    this.callerTurns.push({ startMs, endMs });
    const seconds = ((endMs - startMs) / 1000).toFixed(1);
    this.sendUserTranscript(`(caller spoke ${seconds} s)`, this.newEventId());
    if (this.ending) return;
    const mode = this.agent.options.mode ?? "manual";
    const afterInterruption = this.interruptedThisTurn;
    this.interruptedThisTurn = false;
    let utterance: Utterance;
    if (mode === "echo") {
      // Play back the caller's turn (with 100 ms either side), converted to the output format.
      const rate = this.inputFormat.sampleRate;
      const all = this.userAudioPcm();
      const from = msBytes(Math.max(0, startMs - 100), rate);
      const to = Math.min(all.length, msBytes(endMs + 100, rate));
      utterance = {
        text: `(echo of ${seconds} s of caller audio)`,
        pcm: all.subarray(from, to),
        sampleRate: rate,
      };
    } else {
      const p = this.agent.prompts();
      if (afterInterruption) utterance = p.afterInterruption;
      else {
        utterance = p.replies[this.replyIndex % p.replies.length] as Utterance;
        this.replyIndex++;
      }
    }
    const delay = this.agent.options.responseDelayMs ?? 300;
    const t = setTimeout(() => {
      this.timers.delete(t);
      if (this.pendingReply === t) this.pendingReply = null;
      this.queueReply(() => utterance, true);
    }, delay);
    this.timers.add(t);
    this.pendingReply = t;
  }

  private onUserMessage(): void {
    const mode = this.agent.options.mode ?? "manual";
    if (mode === "manual" || this.ending || !this.metadataSent) return;
    this.queueReply(() => this.agent.prompts().afterUserMessage, true);
  }

  /** Replies play one after another; a reply waits until the previous one has been heard. */
  private queueReply(what: () => Utterance, countsAsReply = false): void {
    this.replyChain = this.replyChain.then(async () => {
      if (!this.isOpen || this.ending) return;
      const wait = this.playEnd - performance.now();
      if (wait > 0) await sleep(wait);
      if (!this.isOpen || this.ending) return;
      const failure = this.agent.options.failure;
      const delayAudioMs = !this.firstAudioSent && failure?.kind === "slow_first_audio" ? failure.delayMs : 0;
      const u = what();
      this.log(`agent says: ${u.text}`);
      const rec = await this.speak(u, { delayAudioMs });
      // Audio goes out faster than real time: a reply is complete once it has been heard in full.
      while (!rec.interrupted && this.isOpen && performance.now() < this.playEnd) {
        await sleep(Math.min(50, this.playEnd - performance.now()));
      }
      if (countsAsReply && !rec.interrupted && this.isOpen) {
        this.repliesCompleted++;
        const limit = this.agent.options.endCallAfterReplies;
        if (limit !== undefined && this.repliesCompleted >= limit) await this.endCall();
      }
    });
    this.replyChain.catch((err: unknown) => this.log(`reply failed: ${(err as Error).message}`));
  }

  /** Goodbye, `agent_tool_response` end_call, wait until the goodbye has played, close 1000. */
  private async endCall(): Promise<void> {
    if (this.ending || !this.isOpen) return;
    this.ending = true;
    const goodbye = this.agent.prompts().goodbye;
    this.log(`ending the call: ${goodbye.text}`);
    await this.speak(goodbye);
    this.sendJson({
      type: "agent_tool_response",
      agent_tool_response: {
        tool_name: "end_call",
        tool_call_id: `toolu_local_${randomUUID().slice(0, 8)}`,
        tool_type: "system",
        is_error: false,
        is_called: true,
        event_id: this.newEventId(),
      },
    });
    const wait = this.playEnd - performance.now();
    if (wait > 0) await sleep(wait);
    this.close(1000, "end_call");
  }

  // ------------------------------------------------------------ plumbing

  private sendText(text: string, type: string, summary: unknown): void {
    if (!this.isOpen) return;
    this.ws.send(text);
    this.record({ atMs: this.now(), type, message: summary }, true);
  }

  private record(message: SentMessage | ReceivedMessage, sent = false): void {
    if (sent) {
      this.sent.push(message);
      this.emit({ kind: "sent", message });
    } else {
      this.received.push(message);
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

  private later(fn: () => void, ms: number, _label: string): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
  }

  private log(line: string): void {
    this.agent.log(`${this.id}: ${line}`);
  }

  private readonly onClose = (code: number, reasonBuf: Buffer): void => {
    if (this.pingTimer) clearInterval(this.pingTimer);
    if (this.inputTimer) clearInterval(this.inputTimer);
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    if (this.current) this.current.cancelled = true;
    const reason = reasonBuf.toString("utf8");
    const by = this.closeSentFirst ? "agent" : "client";
    this.closeInfo = { code, reason, by };
    this.log(`closed ${code}${reason ? ` ${reason}` : ""} (by ${by})`);
    this.emit({ kind: "closed", code, reason, by });
    this.resolveClosed(this.closeInfo);
  };

  private readonly onError = (err: Error): void => {
    this.log(`socket error: ${err.message}`);
  };
}

/** The running local test agent server. */
export class LocalAgent {
  /** HTTP origin, e.g. http://127.0.0.1:43121 (use as ELEVENLABS_BASE_URL). */
  url = "";
  port = 0;
  readonly agentIds: readonly string[];
  readonly conversations: AgentConversation[] = [];
  /** Every signed-URL request: agent id asked for and the status answered. */
  readonly signedUrlRequests: Array<{ agentId: string; status: number }> = [];
  /** Every refused WebSocket upgrade. */
  readonly refusedUpgrades: Array<{ status: number; reason: string }> = [];
  readonly server: http.Server;
  private readonly wss: WebSocketServer;
  private readonly signatures = new Map<string, { agentId: string; expiresAt: number }>();
  private readonly feeds = new Set<http.ServerResponse>();
  private readonly conversationListeners = new Set<(c: AgentConversation) => void>();
  private promptCache: ScriptPrompts | undefined;
  private readonly encodedCache = new WeakMap<Utterance, Map<string, Buffer>>();

  constructor(readonly options: LocalAgentOptions = {}) {
    this.agentIds = options.agents ?? [DEFAULT_AGENT_ID];
    this.server = http.createServer(this.onRequest);
    this.wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
    this.server.on("upgrade", this.onUpgrade);
  }

  async listen(): Promise<void> {
    const host = this.options.host ?? "127.0.0.1";
    await new Promise<void>((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(this.options.port ?? 0, host, () => {
        this.server.off("error", reject);
        resolve();
      });
    });
    const addr = this.server.address() as AddressInfo;
    this.port = addr.port;
    const shownHost =
      host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host.includes(":") ? `[${host}]` : host;
    this.url = `http://${shownHost}:${addr.port}`;
    this.log(
      `listening on ${this.url} (NOT ElevenLabs) agents=${this.agentIds.join(",")} mode=${this.options.mode ?? "manual"} ` +
        `output=${this.options.outputFormat ?? "pcm_16000"} input=${this.options.inputFormat ?? "pcm_16000"} ` +
        `auth=${this.options.apiKey ? "api key + signed URL" : "public agent"}` +
        (this.options.failure ? ` failure=${this.options.failure.kind}` : ""),
    );
  }

  /** Called for every new conversation (after the socket opened); returns an unsubscribe function. */
  onConversation(cb: (c: AgentConversation) => void): () => void {
    this.conversationListeners.add(cb);
    return () => this.conversationListeners.delete(cb);
  }

  /** The next conversation to open (or the first one not yet handed out by this method). */
  nextConversation(timeoutMs = 5000): Promise<AgentConversation> {
    const unseen = this.conversations[this.handedOut];
    if (unseen) {
      this.handedOut++;
      return Promise.resolve(unseen);
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        off();
        reject(new Error(`${LABEL} no conversation opened within ${timeoutMs} ms`));
      }, timeoutMs);
      const off = this.onConversation((c) => {
        clearTimeout(timer);
        off();
        this.handedOut++;
        resolve(c);
      });
    });
  }
  private handedOut = 0;

  /** Closes every conversation (1001) and the server. */
  async close(): Promise<void> {
    for (const c of this.conversations) c.close(1001, "local test agent shutting down");
    for (const res of this.feeds) res.end();
    this.feeds.clear();
    await Promise.race([Promise.all(this.conversations.map((c) => c.closed)), sleep(1500)]);
    for (const client of this.wss.clients) client.terminate();
    this.wss.close();
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
    this.log("stopped");
  }

  log(line: string): void {
    this.options.log?.(`${LABEL} ${line}`);
  }

  private publish(conv: AgentConversation, e: ConversationEvent): void {
    if (this.feeds.size === 0) return;
    const n = narrate(e);
    if (n === undefined) return;
    // Wall-clock time, so another process can place it on its own clock.
    const at = performance.timeOrigin + (n.atMs >= 0 ? conv.openedAt + n.atMs : performance.now());
    const data = JSON.stringify({ conversation_id: conv.id, at: Math.round(at), who: n.who, text: n.text });
    for (const res of this.feeds) res.write(`data: ${data}\n\n`);
  }

  /** The script prompts (loaded once). */
  prompts(): ScriptPrompts {
    this.promptCache ??= this.options.prompts ?? shippedPrompts();
    return this.promptCache;
  }

  /** An utterance's audio in `format`, converted once and cached. */
  encodedUtterance(u: Utterance, format: FormatInfo): Buffer {
    let perFormat = this.encodedCache.get(u);
    if (!perFormat) {
      perFormat = new Map();
      this.encodedCache.set(u, perFormat);
    }
    let bytes = perFormat.get(format.name);
    if (!bytes) {
      bytes = encodeFor(format, u.pcm, u.sampleRate);
      perFormat.set(format.name, bytes);
    }
    return bytes;
  }

  private isKnownAgent(id: string): boolean {
    return this.options.failure?.kind !== "unknown_agent" && this.agentIds.includes(id);
  }

  private readonly onRequest = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const url = new URL(req.url ?? "/", "http://local-test-agent.invalid");
    const path = url.pathname.replace(/\/+$/, "");
    if (req.method === "GET" && path === SIGNED_URL_PATH) {
      this.onSignedUrl(req, res, url);
      return;
    }
    if (req.method === "GET" && path === EVENTS_PATH) {
      // Server-sent events: one JSON object per narrated conversation event (npm run call --agent-events).
      res.writeHead(200, {
        "content-type": "text/event-stream",
        "cache-control": "no-store",
        connection: "keep-alive",
      });
      res.write(": local test agent events\n\n");
      this.feeds.add(res);
      req.on("close", () => this.feeds.delete(res));
      return;
    }
    if (req.method === "GET" && (path === "" || path === "/")) {
      res.writeHead(200, { "content-type": "text/plain" });
      res.end(
        "LOCAL TEST AGENT (not ElevenLabs): speaks the ElevenLabs Agents protocol for tests and demos.\n",
      );
      return;
    }
    res.writeHead(404, { "content-type": "application/json" });
    res.end(JSON.stringify({ detail: { status: "not_found", message: "local test agent: no such route" } }));
  };

  private onSignedUrl(req: http.IncomingMessage, res: http.ServerResponse, url: URL): void {
    const agentId = url.searchParams.get("agent_id") ?? "";
    const key = req.headers["xi-api-key"];
    const answer = (status: number, body: unknown): void => {
      this.signedUrlRequests.push({ agentId, status });
      this.log(`signed URL for agent ${agentId || "(none)"}: ${status}`);
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    const keyOk =
      this.options.failure?.kind !== "bad_key" &&
      (this.options.apiKey === undefined || (typeof key === "string" && safeEqual(key, this.options.apiKey)));
    if (!keyOk) {
      answer(401, { detail: { status: "invalid_api_key", message: "Invalid API key (local test agent)" } });
      return;
    }
    if (!this.isKnownAgent(agentId)) {
      answer(404, {
        detail: { status: "agent_not_found", message: "Agent does not exist (local test agent)" },
      });
      return;
    }
    const signature = randomBytes(24).toString("base64url");
    this.signatures.set(signature, {
      agentId,
      expiresAt: Date.now() + (this.options.signatureTtlMs ?? 15 * 60_000),
    });
    const host = req.headers.host ?? `127.0.0.1:${this.port}`;
    const q = new URLSearchParams({ agent_id: agentId, conversation_signature: signature });
    answer(200, { signed_url: `ws://${host}${CONVERSATION_PATH}?${q}` });
  }

  private readonly onUpgrade = (req: http.IncomingMessage, socket: Duplex, head: Buffer): void => {
    const url = new URL(req.url ?? "/", "http://local-test-agent.invalid");
    const refuse = (status: number, reason: string): void => {
      this.refusedUpgrades.push({ status, reason });
      this.log(`refused a conversation upgrade: ${status} ${reason}`);
      socket.end(
        `HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`,
      );
    };
    if (url.pathname.replace(/\/+$/, "") !== CONVERSATION_PATH) {
      refuse(404, "unknown path");
      return;
    }
    const agentId = url.searchParams.get("agent_id") ?? "";
    if (!this.isKnownAgent(agentId)) {
      refuse(404, `unknown agent ${agentId || "(none)"}`);
      return;
    }
    if (this.options.apiKey !== undefined || this.options.failure?.kind === "bad_key") {
      const sig = url.searchParams.get("conversation_signature");
      if (sig === null) {
        refuse(401, "private agent: conversation_signature required");
        return;
      }
      const entry = this.signatures.get(sig);
      // Single use: a signature is consumed by the first upgrade that presents it.
      this.signatures.delete(sig);
      if (entry === undefined || entry.agentId !== agentId || entry.expiresAt < Date.now()) {
        refuse(403, "invalid, used or expired conversation_signature");
        return;
      }
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      const query: Record<string, string> = {};
      for (const [k, v] of url.searchParams) if (!(k in query)) query[k] = v;
      const conv = new AgentConversation(ws, this, agentId, query);
      this.conversations.push(conv);
      this.log(`${conv.id}: conversation opened for agent ${agentId}`);
      conv.onEvent((e) => this.publish(conv, e));
      conv.start();
      for (const cb of this.conversationListeners) cb(conv);
    });
  };
}

/** Starts a local test agent and waits until it listens. */
export async function startLocalAgent(options: LocalAgentOptions = {}): Promise<LocalAgent> {
  const agent = new LocalAgent(options);
  await agent.listen();
  return agent;
}
