/**
 * The console's live picture of the bridge: active calls (each with its recent timeline and turn
 * latencies) and the last few ended calls, plus the event-stream clients watching it. Every
 * collection here is bounded, so a long-running bridge or a chatty call cannot grow it; with no
 * client connected, publishing costs only that bounded bookkeeping (nothing is serialized).
 */
import { END_REASONS } from "../call-endings.js";
import type {
  ActiveCallView,
  ConsoleEvent,
  ConsoleMessage,
  ConsoleSnapshot,
  EndedCallView,
  TimelineEntry,
} from "./events.js";

export interface ConsoleLimits {
  /** Active calls tracked; beyond this the oldest is forgotten (it reappears when it next speaks). */
  readonly maxActiveCalls: number;
  /** Timeline entries (transcript lines and markers) kept per active call. */
  readonly maxTimeline: number;
  /** Turn latencies kept per active call (bars in its chart). */
  readonly maxLatencies: number;
  /** Ended calls kept for the "last calls" table. */
  readonly maxEnded: number;
  /** Characters kept of one transcript line. */
  readonly maxTextChars: number;
  /** Characters kept of a call's DTMF digits, and of any id or number shown. */
  readonly maxFieldChars: number;
  /** Event-stream clients at once; more are refused. */
  readonly maxClients: number;
  /** A client with this many bytes not yet sent is too slow: it is dropped (its page reconnects). */
  readonly maxClientBufferBytes: number;
  /** Comment frames keep idle streams open through proxies. */
  readonly heartbeatMs: number;
}

export const DEFAULT_CONSOLE_LIMITS: ConsoleLimits = {
  maxActiveCalls: 500,
  maxTimeline: 80,
  maxLatencies: 60,
  maxEnded: 20,
  maxTextChars: 500,
  maxFieldChars: 64,
  maxClients: 16,
  maxClientBufferBytes: 512 * 1024,
  heartbeatMs: 15_000,
};

/** One event-stream connection, as the feed sees it. */
export interface ConsoleClient {
  /** Queues an already framed chunk; returns how many bytes are still waiting to be sent. */
  write(frame: string): number;
  /** Ends the connection (the feed has already forgotten the client). */
  close(): void;
}

interface ActiveCall {
  callId: string;
  callSid: string;
  from: string;
  to: string;
  agentId: string;
  audioPath: string | undefined;
  startedAt: number;
  timeline: TimelineEntry[];
  latenciesMs: number[];
  interruptions: number;
  dtmf: string;
}

/** Keeps the newest `max` items of `list` (in place). */
function keepLast<T>(list: T[], max: number): void {
  if (list.length > max) list.splice(0, list.length - max);
}

function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

/** `data:` frame of one JSON message (JSON has no raw newlines, so one line is enough). */
function frame(message: unknown): string {
  return `data: ${JSON.stringify(message)}\n\n`;
}

export class ConsoleFeed {
  readonly limits: ConsoleLimits;
  private readonly active = new Map<string, ActiveCall>();
  private readonly ended: EndedCallView[] = [];
  /**
   * Each client with the unsent bytes it may have before it is dropped: the snapshot's size on top
   * of the limit at first (a full snapshot may be larger than the limit), the plain limit once it
   * has caught up.
   */
  private readonly clients = new Map<ConsoleClient, number>();
  private heartbeat: NodeJS.Timeout | undefined;
  /** Clients dropped for falling behind, since start (for tests and the log). */
  droppedClients = 0;

  constructor(limits: Partial<ConsoleLimits> = {}) {
    this.limits = { ...DEFAULT_CONSOLE_LIMITS, ...limits };
  }

  get clientCount(): number {
    return this.clients.size;
  }

  get activeCount(): number {
    return this.active.size;
  }

  /**
   * Records one event and streams it to every client. Never throws on odd input: text and ids are
   * clipped, and an event for a call the feed does not know starts a placeholder card for it.
   */
  publish(event: ConsoleEvent): void {
    // Called from inside live calls: a console problem must never become a call's problem.
    let message: ConsoleMessage | undefined;
    try {
      message = this.apply(event);
    } catch {
      return;
    }
    if (message === undefined || this.clients.size === 0) return;
    this.broadcast(frame(message));
  }

  /**
   * Adds a client and sends it the snapshot; false when the feed already has `maxClients`.
   * The caller must call `unsubscribe` when the connection closes.
   */
  subscribe(client: ConsoleClient): boolean {
    if (this.clients.size >= this.limits.maxClients) return false;
    // retry: how long the browser's EventSource waits before reconnecting after a drop.
    const first = `retry: 3000\n${frame(this.snapshot())}`;
    this.clients.set(client, this.limits.maxClientBufferBytes + Buffer.byteLength(first));
    this.send(client, first);
    if (!this.clients.has(client)) return true;
    this.heartbeat ??= setInterval(() => this.broadcast(": keep-alive\n\n"), this.limits.heartbeatMs);
    this.heartbeat.unref();
    return true;
  }

  unsubscribe(client: ConsoleClient): void {
    if (!this.clients.delete(client)) return;
    if (this.clients.size === 0 && this.heartbeat !== undefined) {
      clearInterval(this.heartbeat);
      this.heartbeat = undefined;
    }
  }

  /** Ends every client connection (bridge shutdown). */
  closeAll(): void {
    for (const client of [...this.clients.keys()]) {
      this.unsubscribe(client);
      client.close();
    }
  }

  snapshot(): ConsoleSnapshot {
    return {
      type: "snapshot",
      active: [...this.active.values()].map(
        (c): ActiveCallView => ({
          callId: c.callId,
          callSid: c.callSid,
          from: c.from,
          to: c.to,
          agentId: c.agentId,
          ...(c.audioPath !== undefined && { audioPath: c.audioPath }),
          startedAt: c.startedAt,
          timeline: [...c.timeline],
          latenciesMs: [...c.latenciesMs],
          interruptions: c.interruptions,
          dtmf: c.dtmf,
        }),
      ),
      ended: [...this.ended],
      limits: {
        maxActiveCalls: this.limits.maxActiveCalls,
        maxTimeline: this.limits.maxTimeline,
        maxLatencies: this.limits.maxLatencies,
        maxEnded: this.limits.maxEnded,
      },
    };
  }

  private broadcast(chunk: string): void {
    for (const client of this.clients.keys()) this.send(client, chunk);
  }

  private send(client: ConsoleClient, chunk: string): void {
    let pending: number;
    try {
      pending = client.write(chunk);
    } catch {
      pending = Number.POSITIVE_INFINITY;
    }
    const allowance = this.clients.get(client) ?? 0;
    if (pending > allowance) this.drop(client);
    else if (pending <= this.limits.maxClientBufferBytes && allowance > this.limits.maxClientBufferBytes)
      this.clients.set(client, this.limits.maxClientBufferBytes);
  }

  private drop(client: ConsoleClient): void {
    this.droppedClients++;
    this.unsubscribe(client);
    client.close();
  }

  private field(value: string): string {
    return clip(String(value), this.limits.maxFieldChars);
  }

  private call(callId: string, at: number): ActiveCall {
    let call = this.active.get(callId);
    if (call === undefined) {
      call = {
        callId,
        callSid: "",
        from: "",
        to: "",
        agentId: "",
        audioPath: undefined,
        startedAt: at,
        timeline: [],
        latenciesMs: [],
        interruptions: 0,
        dtmf: "",
      };
      if (this.active.size >= this.limits.maxActiveCalls) {
        const oldest = this.active.keys().next().value;
        if (oldest !== undefined) this.active.delete(oldest);
      }
      this.active.set(callId, call);
    }
    return call;
  }

  private push(call: ActiveCall, entry: TimelineEntry): void {
    call.timeline.push(entry);
    keepLast(call.timeline, this.limits.maxTimeline);
  }

  /** Updates the picture; returns the event as streamed (clipped to the same bounds). */
  private apply(event: ConsoleEvent): ConsoleMessage | undefined {
    const L = this.limits;
    const callId = this.field(event.callId);
    const at = Number.isFinite(event.at) ? event.at : Date.now();
    switch (event.type) {
      case "call_started": {
        const call = this.call(callId, at);
        call.callSid = this.field(event.callSid);
        call.from = this.field(event.from);
        call.to = this.field(event.to);
        call.agentId = this.field(event.agentId);
        call.audioPath = event.audioPath === undefined ? undefined : this.field(event.audioPath);
        call.startedAt = at;
        return {
          type: "call_started",
          callId,
          at,
          callSid: call.callSid,
          streamSid: this.field(event.streamSid),
          from: call.from,
          to: call.to,
          agentId: call.agentId,
          ...(call.audioPath !== undefined && { audioPath: call.audioPath }),
        };
      }
      case "transcript": {
        const text = clip(String(event.text), L.maxTextChars);
        const role = event.role === "agent" ? "agent" : "caller";
        this.push(this.call(callId, at), { kind: "line", role, text, at });
        return { type: "transcript", callId, at, role, text };
      }
      case "agent_correction": {
        const text = clip(String(event.text), L.maxTextChars);
        const call = this.call(callId, at);
        const i = call.timeline.findLastIndex((e) => e.kind === "line" && e.role === "agent");
        const last = call.timeline[i];
        if (last !== undefined && last.kind === "line") call.timeline[i] = { ...last, text, cut: true };
        return { type: "agent_correction", callId, at, text };
      }
      case "turn": {
        const latencyMs = Math.max(0, Math.round(Number(event.latencyMs) || 0));
        const call = this.call(callId, at);
        call.latenciesMs.push(latencyMs);
        keepLast(call.latenciesMs, L.maxLatencies);
        return { type: "turn", callId, at, latencyMs };
      }
      case "interruption": {
        const call = this.call(callId, at);
        call.interruptions++;
        this.push(call, { kind: "interruption", at });
        return { type: "interruption", callId, at };
      }
      case "dtmf": {
        const digits = this.field(event.digits);
        const call = this.call(callId, at);
        call.dtmf = clip(call.dtmf + digits, L.maxFieldChars);
        this.push(call, { kind: "dtmf", digits, at });
        return { type: "dtmf", callId, at, digits };
      }
      case "call_ended": {
        const call = this.active.get(callId);
        this.active.delete(callId);
        const view: EndedCallView = {
          callId,
          callSid: call?.callSid ?? "",
          from: call?.from ?? "",
          to: call?.to ?? "",
          agentId: call?.agentId ?? "",
          startedAt: call?.startedAt ?? at,
          endedAt: at,
          endReason: event.endReason,
          endText: END_REASONS[event.endReason]?.text ?? "",
          endedBy: event.endedBy,
          durationS: event.durationS,
          ...(event.timeToFirstAudioMs !== undefined && { timeToFirstAudioMs: event.timeToFirstAudioMs }),
          ...(event.responseLatencyMs !== undefined && { responseLatencyMs: event.responseLatencyMs }),
          interruptions: event.interruptions,
          transcriptTurns: event.transcriptTurns,
          dtmf: call?.dtmf ?? "",
        };
        this.ended.unshift(view);
        this.ended.length = Math.min(this.ended.length, L.maxEnded);
        return { type: "call_ended", callId, at, ended: view };
      }
      default:
        // Only reachable from untyped callers: an unknown kind is not shown.
        return undefined;
    }
  }
}
