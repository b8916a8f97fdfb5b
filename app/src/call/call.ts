/**
 * One phone call: its phase, its timers and its one way out. The Exotel leg (exotel-leg.ts) and the
 * agent leg (agent-leg.ts) own the sockets and the audio; call telemetry (telemetry.ts) owns what is
 * logged and counted. The legs report typed events here (legs.ts) and only this file decides that
 * the call ends, why, and how: `close(reason)`, guarded against running twice; teardown is gentle
 * first (close frames, the agent's queued goodbye allowed to play when the agent side ended the
 * call), then forced by timers; the summary goes out once both sockets are closed.
 *
 *   connecting --start--> starting --agent ready--> active --close()--> closing --> closed
 */
import { randomUUID } from "node:crypto";
import type WebSocket from "ws";
import type { ExotelSampleRate } from "../audio/formats.js";
import { END_REASONS, type EndReason } from "../call-endings.js";
import type { Config } from "../config.js";
import type { AgentEndpoints } from "../elevenlabs/hosts.js";
import type { Logger, LogRateLimiter } from "../log.js";
import type { Metrics } from "../metrics.js";
import { AgentLeg } from "./agent-leg.js";
import { ExotelLeg } from "./exotel-leg.js";
import type { CallHooks, CallIdentity, CallInfo } from "./hooks.js";
import type { AgentFacts, AgentLegEvents, AgentSide, ExotelLegEvents, ExotelSide } from "./legs.js";
import type { CallObserver } from "./observer.js";
import type { RecordingFacts } from "./summary.js";
import { CallTelemetry } from "./telemetry.js";
import type { Ticker } from "./ticker.js";
import type { CallControl, ClientToolRegistry } from "./tools.js";

export type CallPhase = "connecting" | "starting" | "active" | "closing" | "closed";

/** What the HTTP upgrade told us, before Exotel says anything. */
export interface CallRequest {
  /** Upgrade query parameters (first value of each). */
  readonly query: Readonly<Record<string, string>>;
  /** From `?sample-rate=`; undefined when absent. */
  readonly sampleRate: ExotelSampleRate | undefined;
  readonly remoteAddress: string;
}

/** What a Call hands to the factory of its legs. */
export interface LegWiring {
  readonly callId: string;
  readonly request: CallRequest;
  readonly telemetry: CallTelemetry;
  readonly exotelEvents: ExotelLegEvents;
  readonly agentEvents: AgentLegEvents;
  readonly control: CallControl;
}

/** Builds the two legs of a call; tests substitute fakes. */
export type LegFactory = (
  socket: WebSocket,
  wiring: LegWiring,
  deps: CallDeps,
) => { readonly exotel: ExotelSide; readonly agent: AgentSide };

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
  /** A live view of this call's events; none by default. */
  readonly observer?: CallObserver;
  /** The real Exotel and agent legs unless given. */
  readonly legs?: LegFactory;
}

/** After the last frame has played, wait this long for the mark echo before closing anyway. */
const PLAYOUT_GRACE_MS = 250;
/** Quiet time after the agent's last audio has played that counts as "finished speaking". */
const AGENT_DONE_QUIET_MS = 1200;
/** How often a pending end-when-agent-done checks whether the agent has finished. */
const AGENT_DONE_POLL_MS = 100;
/** A recording that cannot finish in this time is abandoned so the summary still goes out. */
const TAP_FINISH_TIMEOUT_MS = 10_000;

/** The real legs: caller media flows Exotel leg -> agent leg, agent audio agent leg -> Exotel leg. */
export const realLegs: LegFactory = (socket, w, deps) => {
  const exotel = new ExotelLeg(
    socket,
    w.callId,
    {
      query: w.request.query,
      sampleRate: w.request.sampleRate,
      maxBufferedBytes: deps.config.limits.maxSocketBufferBytes,
      now: deps.now,
    },
    w.telemetry,
    w.exotelEvents,
  );
  const agent = new AgentLeg(
    w.request.query.agent_id ?? deps.config.agent.defaultAgentId,
    w.request.sampleRate ?? 8000,
    exotel,
    w.telemetry,
    { ...deps, control: w.control },
    w.agentEvents,
  );
  exotel.sendCallerAudioTo(agent.uplink);
  return { exotel, agent };
};

export class Call {
  readonly id = randomUUID();
  phase: CallPhase = "connecting";
  private readonly telemetry: CallTelemetry;
  private readonly exotel: ExotelSide;
  private readonly agent: AgentSide;
  private readonly startedAt = new Date();
  private readonly createdAt: number;

  private startTimer: NodeJS.Timeout | null = null;
  private agentTimer: NodeJS.Timeout | null = null;
  private maxDurationTimer: NodeJS.Timeout | null = null;
  private silenceTimer: NodeJS.Timeout | null = null;
  private playoutTimer: NodeJS.Timeout | null = null;
  private endWhenDoneTimer: NodeJS.Timeout | null = null;
  private endWhenDone: { reason: EndReason; detail: string | undefined; deadline: number } | null = null;
  private endReason: EndReason = "internal_error";
  private endDetail: string | undefined;
  private finalized = false;

  constructor(
    socket: WebSocket,
    request: CallRequest,
    private readonly deps: CallDeps,
  ) {
    this.createdAt = deps.now();
    this.telemetry = new CallTelemetry(this.id, deps);
    const legs = (deps.legs ?? realLegs)(
      socket,
      {
        callId: this.id,
        request,
        telemetry: this.telemetry,
        exotelEvents: this.exotelEvents,
        agentEvents: this.agentEvents,
        control: this.control,
      },
      deps,
    );
    this.exotel = legs.exotel;
    this.agent = legs.agent;
    this.telemetry.connecting(request.remoteAddress, request.sampleRate);
    this.startTimer = setTimeout(() => this.close("start_timeout"), deps.config.limits.startTimeoutMs);
  }

  // ---------------------------------------------------------------- what the legs report

  private readonly exotelEvents: ExotelLegEvents = {
    started: (identity) => this.onStarted(identity),
    dtmf: (digit) => this.agent.dtmf(digit),
    markPlayed: (name) => {
      // The goodbye has played: no need to wait out the estimate.
      if (this.agent.markPlayed(name)) this.closeSockets();
    },
    stopped: (reason) =>
      this.close(reason === "callended" || reason === undefined ? "caller_hangup" : "exotel_stopped"),
    closed: (code, reason) => {
      if (this.phase !== "closing" && this.phase !== "closed") {
        this.close("exotel_disconnected", `Exotel socket closed (${code}${reason ? ` ${reason}` : ""})`);
      } else if (this.agent.draining) {
        // Nobody left to play the goodbye to.
        this.closeSockets();
      }
      this.maybeFinalize();
    },
    slow: (bytes) => this.close("slow_peer", `Exotel socket has ${bytes} bytes unsent`),
    protocolError: (detail) => this.close("protocol_error", detail),
    failed: (err) => this.fail(err),
  };

  private readonly agentEvents: AgentLegEvents = {
    ready: () => {
      if (this.agentTimer) clearTimeout(this.agentTimer);
      this.agentTimer = null;
      this.phase = "active";
    },
    refused: (reason, detail) => this.close(reason, detail),
    connectFailed: (message) => this.close("agent_connect_failed", message),
    unusableFormats: (detail) => this.close("agent_error", detail),
    closed: (code, reason, endCallRequested) => {
      if (this.phase === "closing" || this.phase === "closed") {
        this.maybeFinalize();
      } else if (code === 1000) {
        this.close(endCallRequested ? "agent_end_call" : "agent_ended", reason || undefined);
      } else if (code === 1006) {
        this.close("agent_disconnected", "agent socket dropped (1006)");
      } else {
        this.close("agent_error", `agent closed with ${code}${reason ? ` ${reason}` : ""}`);
      }
    },
    slow: (detail) => this.close("slow_peer", detail),
    protocolError: (detail) => this.close("protocol_error", detail),
    drained: (now) => this.schedulePlayoutClose(now),
    failed: (err) => this.fail(err),
  };

  /** Handed to client tools. */
  private readonly control: CallControl = {
    endWhenAgentDone: (reason, detail, maxWaitMs = 15_000) => {
      if (this.phase !== "active" || this.endWhenDone !== null) return;
      this.telemetry.record(
        "info",
        { event: "end_when_agent_done", end_reason: reason, detail },
        "call will end after the agent finishes",
      );
      this.endWhenDone = { reason, detail, deadline: this.deps.now() + maxWaitMs };
      this.endWhenDoneTimer = setInterval(this.checkAgentDone, AGENT_DONE_POLL_MS);
    },
  };

  /** The agent is done when nothing is queued or buffered and it has been quiet for AGENT_DONE_QUIET_MS. */
  private readonly checkAgentDone = (): void => {
    const pending = this.endWhenDone;
    if (pending === null) return;
    const now = this.deps.now();
    if (this.agent.isIdle(now, AGENT_DONE_QUIET_MS) || now >= pending.deadline) {
      this.close(pending.reason, pending.detail);
    }
  };

  private onStarted(identity: CallIdentity): void {
    if (this.phase !== "connecting") return;
    if (this.startTimer) clearTimeout(this.startTimer);
    this.startTimer = null;
    this.phase = "starting";
    const limits = this.deps.config.limits;
    this.maxDurationTimer = setTimeout(() => this.close("max_duration"), limits.maxCallDurationMs);
    this.armSilenceTimer();
    this.agentTimer = setTimeout(() => {
      const message = `no conversation metadata from the agent within ${limits.agentConnectTimeoutMs} ms`;
      this.agent.timedOut(message);
      this.close("agent_timeout", message);
    }, limits.agentConnectTimeoutMs);
    this.agent.begin(identity);
  }

  private armSilenceTimer(): void {
    const limit = this.deps.config.limits.callerSilenceTimeoutMs;
    const check = (): void => {
      const quiet = this.deps.now() - this.exotel.lastMediaAt;
      if (quiet >= limit) {
        this.close("caller_silence", `no media frames for ${Math.round(quiet)} ms`);
        return;
      }
      this.silenceTimer = setTimeout(check, limit - quiet + 5);
    };
    this.silenceTimer = setTimeout(check, limit);
  }

  private fail(err: unknown): void {
    this.telemetry.record("error", { event: "call_internal_error", err }, "unexpected error in call handler");
    this.close("internal_error", (err as Error)?.message);
  }

  // ---------------------------------------------------------------- teardown

  /**
   * The only way a call ends. Caller-side endings close the agent at once; agent-side endings let
   * the queued audio play out (bounded) before closing Exotel, so a goodbye is heard in full.
   */
  close(reason: EndReason, detail?: string): void {
    if (this.phase === "closing" || this.phase === "closed") return;
    const prior = this.phase;
    this.phase = "closing";
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
    this.startTimer =
      this.agentTimer =
      this.maxDurationTimer =
      this.silenceTimer =
      this.endWhenDoneTimer =
        null;
    this.telemetry.ending(reason, detail, prior);
    const info = END_REASONS[reason];
    if (prior !== "connecting") {
      try {
        this.deps.hooks.closing?.(this.callInfo(), { endReason: reason, endedBy: info.by });
      } catch (err) {
        this.telemetry.record("warn", { event: "closing_hook_failed", err }, "call-closing hook failed");
      }
    }
    const now = this.deps.now();
    const agentSide = info.by === "agent" || reason === "max_duration";
    if (agentSide && prior === "active" && !this.exotel.closed && this.agent.hasAudioToPlay(now)) {
      this.playoutTimer = setTimeout(() => this.closeSockets(), this.deps.config.limits.closePlayoutMaxMs);
      this.agent.end(true, now);
      return;
    }
    this.agent.end(false, now);
    this.closeSockets();
  }

  private schedulePlayoutClose(now: number): void {
    if (this.phase !== "closing") return;
    const wait = this.agent.queuedMs(now) + PLAYOUT_GRACE_MS;
    if (this.playoutTimer) clearTimeout(this.playoutTimer);
    this.playoutTimer = setTimeout(
      () => this.closeSockets(),
      Math.min(wait, this.deps.config.limits.closePlayoutMaxMs),
    );
  }

  private closeSockets(): void {
    if (this.playoutTimer) clearTimeout(this.playoutTimer);
    this.playoutTimer = null;
    this.agent.stopDraining();
    this.agent.close();
    this.exotel.close();
    this.maybeFinalize();
  }

  private maybeFinalize(): void {
    if (this.finalized || this.phase !== "closing" || this.agent.draining) return;
    if (!this.exotel.closed || !this.agent.linkClosed) return;
    this.finalized = true;
    this.phase = "closed";
    if (this.playoutTimer) clearTimeout(this.playoutTimer);
    const now = this.deps.now();
    const facts = this.agent.dispose(now);
    this.exotel.dispose();
    const stats = this.telemetry.stats;
    stats.lateAgentChunksDropped = facts.lateChunksDropped;
    stats.marksSent = facts.marksSent;
    stats.marksEchoed = facts.marksEchoed;

    const durationMs = now - this.createdAt;
    const tap = this.telemetry.tap;
    this.telemetry.tap = undefined;
    const emit = (recording: RecordingFacts | undefined): void =>
      this.emitSummary(durationMs, facts, recording);
    if (tap === undefined) {
      emit(undefined);
      return;
    }
    // Recordings finish (file write, upload) before the summary so it can link to them; bounded.
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), TAP_FINISH_TIMEOUT_MS);
    });
    Promise.race([tap.finish(), timeout])
      .catch((err: unknown) => {
        this.telemetry.record("warn", { event: "tap_finish_failed", err }, "audio tap failed to finish");
        return undefined;
      })
      .then((recording) => {
        clearTimeout(timer);
        emit(recording);
      });
  }

  private emitSummary(durationMs: number, facts: AgentFacts, recording: RecordingFacts | undefined): void {
    const id = this.exotel.identity;
    const summary = this.telemetry.summarize({
      callSid: id.callSid,
      streamSid: id.streamSid,
      accountSid: id.accountSid,
      conversationId: facts.conversationId,
      agentId: facts.agentId,
      from: id.from,
      to: id.to,
      sampleRate: id.sampleRate,
      agentFormats: facts.formats,
      customParameters: id.customParameters,
      startedAt: this.startedAt,
      durationMs,
      endReason: this.endReason,
      endedBy: END_REASONS[this.endReason].by,
      endDetail: this.endDetail,
      agentClose: facts.agentClose,
      agentError: facts.agentError,
      heardAgentMs: facts.heardMs,
      clearedAgentMs: facts.clearedMs,
      extras: { ...(facts.labels && { labels: facts.labels }), ...recording },
    });
    try {
      this.deps.hooks.ended?.(summary);
    } catch (err) {
      this.telemetry.record("warn", { event: "ended_hook_failed", err }, "call-ended hook failed");
    } finally {
      this.deps.onClosed(this);
    }
  }

  // ---------------------------------------------------------------- for the server

  private callInfo(): CallInfo {
    return { ...this.exotel.identity, requestedAgentId: this.agent.agentId };
  }

  /** For /health and drain. */
  describe(): Record<string, unknown> {
    const id = this.exotel.identity;
    return {
      call_sid: id.callSid,
      stream_sid: id.streamSid,
      conversation_id: this.agent.conversationId,
      state: this.phase,
      duration_s: Math.round(this.deps.now() - this.createdAt) / 1000,
    };
  }

  get endedReason(): EndReason | undefined {
    return this.phase === "closing" || this.phase === "closed" ? this.endReason : undefined;
  }
}
