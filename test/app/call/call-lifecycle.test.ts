/**
 * The Call's own decisions, against fake legs: phases, which leg event ends the call with which
 * reason, the drain of an agent's goodbye, the timers, and a teardown that runs once. The legs
 * themselves are exercised with real sockets in test/e2e; here only the Call is real (with real
 * timers at the configuration's minimums).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type WebSocket from "ws";
import { Call, type LegFactory, type LegWiring } from "../../../app/src/call/call.js";
import type { CallHooks, CallIdentity, CallInfo } from "../../../app/src/call/hooks.js";
import type { AgentFacts, AgentSide, ExotelSide } from "../../../app/src/call/legs.js";
import type { CallSummary } from "../../../app/src/call/summary.js";
import type { EndReason } from "../../../app/src/call-endings.js";
import { loadConfig } from "../../../app/src/config.js";
import { LogCapture } from "../../support/bridge.js";
import { callDeps } from "./call-deps.js";

const IDENTITY: CallIdentity = {
  callId: "c1",
  callSid: "CA-life",
  streamSid: "MZ-life",
  accountSid: "AC1",
  from: "+919800000001",
  to: "+918000000002",
  customParameters: {},
  sampleRate: 8000,
};

class FakeExotel implements ExotelSide {
  lastMediaAt = performance.now();
  identity = IDENTITY;
  closed = false;
  closeCalls = 0;
  disposed = 0;
  constructor(private readonly w: () => LegWiring) {}
  media(): void {}
  mark(): void {}
  clear(): void {}
  /** The socket answers a close frame on the next turn, as a real one does. */
  close(): void {
    this.closeCalls++;
    if (this.closed) return;
    setImmediate(() => this.hangUp(1000));
  }
  /** The far end closes the socket. */
  hangUp(code: number): void {
    if (this.closed) return;
    this.closed = true;
    this.w().exotelEvents.closed(code, "");
  }
  dispose(): void {
    this.disposed++;
  }
}

class FakeAgent implements AgentSide {
  agentId = "agent-default";
  conversationId = "";
  linkClosed = true;
  draining = false;
  audioToPlay = false;
  idle = false;
  began: CallIdentity[] = [];
  ends: boolean[] = [];
  timeouts: string[] = [];
  disposed = 0;
  goodbyeHeardOnMark = false;
  constructor(private readonly w: () => LegWiring) {}
  begin(identity: CallIdentity): void {
    this.began.push(identity);
    this.linkClosed = false;
  }
  /** The agent's conversation starts. */
  metadata(): void {
    this.conversationId = "conv-1";
    this.w().agentEvents.ready();
  }
  dtmf(): void {}
  markPlayed(): boolean {
    return this.goodbyeHeardOnMark;
  }
  timedOut(message: string): void {
    this.timeouts.push(message);
  }
  hasAudioToPlay(): boolean {
    return this.audioToPlay;
  }
  isIdle(): boolean {
    return this.idle;
  }
  queuedMs(): number {
    return 0;
  }
  end(drain: boolean): void {
    this.ends.push(drain);
    if (drain) {
      this.draining = true;
      this.close();
    }
  }
  stopDraining(): void {
    this.draining = false;
  }
  close(): void {
    if (this.linkClosed) return;
    setImmediate(() => this.socketClosed(1000, "", false));
  }
  /** The agent socket closes (on its own, or answering our close). */
  socketClosed(code: number, reason: string, endCallRequested: boolean): void {
    if (this.linkClosed) return;
    this.linkClosed = true;
    this.w().agentEvents.closed(code, reason, endCallRequested);
  }
  dispose(): AgentFacts {
    this.disposed++;
    return {
      agentId: this.agentId,
      conversationId: this.conversationId,
      formats: undefined,
      agentClose: undefined,
      agentError: undefined,
      labels: undefined,
      heardMs: 0,
      clearedMs: 0,
      lateChunksDropped: 0,
      marksSent: 0,
      marksEchoed: 0,
    };
  }
}

interface Harness {
  readonly call: Call;
  readonly exotel: FakeExotel;
  readonly agent: FakeAgent;
  readonly wiring: LegWiring;
  readonly logs: LogCapture;
  readonly closing: Array<{ endReason: EndReason; endedBy: string }>;
  readonly ended: CallSummary[];
  /** Resolves with the summary once the Call has called onClosed. */
  readonly done: Promise<CallSummary>;
  readonly onClosedCalls: () => number;
}

function harness(env: Record<string, string> = {}): Harness {
  const logs = new LogCapture();
  const config = loadConfig({
    LOG_LEVEL: "debug",
    ELEVENLABS_AGENT_ID: "agent-default",
    START_TIMEOUT_MS: "500",
    AGENT_CONNECT_TIMEOUT_MS: "500",
    CALLER_SILENCE_TIMEOUT_MS: "60000",
    CLOSE_PLAYOUT_MAX_MS: "5000",
    ...env,
  });
  const closing: Array<{ endReason: EndReason; endedBy: string }> = [];
  const ended: CallSummary[] = [];
  let onClosed = 0;
  let resolveDone: (s: CallSummary) => void = () => {};
  const done = new Promise<CallSummary>((r) => {
    resolveDone = r;
  });
  const hooks: CallHooks = {
    closing: (_info: CallInfo, outcome) => closing.push({ ...outcome }),
    ended: (s) => ended.push(s),
  };
  let wiring: LegWiring | undefined;
  const w = (): LegWiring => wiring as LegWiring;
  const exotel = new FakeExotel(w);
  const agent = new FakeAgent(w);
  const legs: LegFactory = (_socket, given) => {
    wiring = given;
    return { exotel, agent };
  };
  const deps = callDeps(config, logs, {
    onClosed: () => {
      onClosed++;
      resolveDone(ended[ended.length - 1] as CallSummary);
    },
    hooks,
    legs,
  });
  // The fake legs never touch the socket.
  const call = new Call(
    null as unknown as WebSocket,
    { query: {}, sampleRate: undefined, remoteAddress: "test" },
    deps,
  );
  return { call, exotel, agent, wiring: w(), logs, closing, ended, done, onClosedCalls: () => onClosed };
}

/** Exotel's start, then the agent's metadata: the call is active. */
function activeCall(env: Record<string, string> = {}): Harness {
  const h = harness(env);
  h.wiring.exotelEvents.started(IDENTITY);
  h.agent.metadata();
  return h;
}

describe("Call lifecycle (fake legs)", () => {
  it("start -> agent ready -> active; the agent leg is started with the caller's identity", async () => {
    const h = harness();
    assert.equal(h.call.phase, "connecting");
    h.wiring.exotelEvents.started(IDENTITY);
    assert.equal(h.call.phase, "starting");
    assert.deepEqual(h.agent.began, [IDENTITY]);
    h.agent.metadata();
    assert.equal(h.call.phase, "active");
    assert.equal(h.call.describe().conversation_id, "conv-1");
    h.call.close("server_shutdown");
    await h.done;
  });

  it("caller hangup: both sockets close at once, no drain, summary says the caller ended it", async () => {
    const h = activeCall();
    h.agent.audioToPlay = true; // even with audio waiting: the caller is gone
    h.wiring.exotelEvents.stopped("callended");
    assert.equal(h.call.phase, "closing");
    assert.deepEqual(h.agent.ends, [false]);
    assert.equal(h.exotel.closeCalls, 1);
    const s = await h.done;
    assert.equal(s.end_reason, "caller_hangup");
    assert.equal(s.ended_by, "caller");
    assert.equal(s.call_sid, "CA-life");
    assert.equal(s.conversation_id, "conv-1");
    assert.deepEqual(h.closing, [{ endReason: "caller_hangup", endedBy: "caller" }]);
    assert.equal(h.call.phase, "closed");
    assert.equal(h.exotel.disposed, 1);
    assert.equal(h.agent.disposed, 1);
  });

  it("agent ends with audio queued: the goodbye drains, then Exotel is closed after a grace period", async () => {
    const h = activeCall();
    h.agent.audioToPlay = true;
    h.agent.socketClosed(1000, "bye", false);
    assert.equal(h.call.phase, "closing");
    assert.deepEqual(h.agent.ends, [true]);
    assert.equal(h.exotel.closeCalls, 0, "Exotel stays open while the goodbye plays");
    // The playout has handed everything to Exotel.
    const t0 = performance.now();
    h.wiring.agentEvents.drained(performance.now());
    const s = await h.done;
    assert.ok(performance.now() - t0 >= 200, "waited for the audio to be heard (grace for the mark echo)");
    assert.equal(s.end_reason, "agent_ended");
    assert.equal(s.end_detail, "bye");
    assert.equal(h.exotel.closeCalls, 1);
  });

  it("agent ends: the echoed last mark closes Exotel without waiting out the estimate", async () => {
    const h = activeCall({ CLOSE_PLAYOUT_MAX_MS: "60000" });
    h.agent.audioToPlay = true;
    h.agent.socketClosed(1000, "", true);
    assert.equal(h.exotel.closeCalls, 0);
    h.agent.goodbyeHeardOnMark = true;
    h.wiring.exotelEvents.markPlayed("r1-1");
    assert.equal(h.exotel.closeCalls, 1);
    assert.equal((await h.done).end_reason, "agent_end_call");
  });

  it("agent ends but Exotel hangs up during the drain: nobody to play to, the call finishes", async () => {
    const h = activeCall({ CLOSE_PLAYOUT_MAX_MS: "60000" });
    h.agent.audioToPlay = true;
    h.agent.socketClosed(1000, "", false);
    h.exotel.hangUp(1006);
    const s = await h.done;
    assert.equal(s.end_reason, "agent_ended", "the first reason stands");
    assert.equal(h.agent.draining, false);
  });

  it("agent ends with nothing to play: no drain", async () => {
    const h = activeCall();
    h.agent.socketClosed(1000, "", false);
    assert.deepEqual(h.agent.ends, [false]);
    assert.equal(h.exotel.closeCalls, 1);
    await h.done;
  });

  it("close called twice (and a stop afterwards) tears down once", async () => {
    const h = activeCall();
    h.call.close("server_shutdown");
    h.call.close("internal_error", "second");
    h.wiring.exotelEvents.stopped("callended");
    const s = await h.done;
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(s.end_reason, "server_shutdown");
    assert.equal(h.ended.length, 1);
    assert.equal(h.onClosedCalls(), 1);
    assert.equal(h.closing.length, 1);
    assert.equal(h.logs.events("call_ending").length, 1);
    assert.equal(h.logs.events("call_summary").length, 1);
    assert.equal(h.agent.ends.length, 1);
  });

  it("no start in time: start_timeout, and the closing hook is not called (no call yet)", async () => {
    const h = harness();
    const s = await h.done;
    assert.equal(s.end_reason, "start_timeout");
    assert.equal(h.closing.length, 0);
    assert.deepEqual(h.agent.began, []);
  });

  it("no agent metadata in time: agent_timeout, recorded as the agent's error", async () => {
    const h = harness();
    h.wiring.exotelEvents.started(IDENTITY);
    const s = await h.done;
    assert.equal(s.end_reason, "agent_timeout");
    assert.equal(h.agent.timeouts.length, 1);
    assert.match(h.agent.timeouts[0] as string, /within 500 ms/);
  });

  it("caller silent too long: caller_silence", async () => {
    const h = activeCall({ CALLER_SILENCE_TIMEOUT_MS: "1000" });
    h.exotel.lastMediaAt = performance.now();
    const s = await h.done;
    assert.equal(s.end_reason, "caller_silence");
  });

  it("only the Call maps leg events to end reasons", async () => {
    const cases: Array<[string, (h: Harness) => void, EndReason]> = [
      ["exotel stop (other)", (h) => h.wiring.exotelEvents.stopped("error"), "exotel_stopped"],
      ["exotel socket gone", (h) => h.exotel.hangUp(1006), "exotel_disconnected"],
      ["exotel slow", (h) => h.wiring.exotelEvents.slow(1e9), "slow_peer"],
      ["exotel bad frames", (h) => h.wiring.exotelEvents.protocolError("too many"), "protocol_error"],
      ["exotel handler threw", (h) => h.wiring.exotelEvents.failed(new Error("x")), "internal_error"],
      ["agent 1006", (h) => h.agent.socketClosed(1006, "", false), "agent_disconnected"],
      ["agent 4000", (h) => h.agent.socketClosed(4000, "policy", false), "agent_error"],
      ["agent end_call", (h) => h.agent.socketClosed(1000, "", true), "agent_end_call"],
      ["agent slow", (h) => h.wiring.agentEvents.slow("buffered"), "slow_peer"],
      ["agent refused", (h) => h.wiring.agentEvents.refused("agent_not_allowed", "x"), "agent_not_allowed"],
      ["agent connect failed", (h) => h.wiring.agentEvents.connectFailed("403"), "agent_connect_failed"],
      ["agent formats", (h) => h.wiring.agentEvents.unusableFormats("mp3"), "agent_error"],
      ["agent bad frames", (h) => h.wiring.agentEvents.protocolError("too many"), "protocol_error"],
    ];
    for (const [name, act, reason] of cases) {
      const h = activeCall();
      act(h);
      const s = await h.done;
      assert.equal(s.end_reason, reason, name);
    }
  });

  it("a tool's endWhenAgentDone ends the call once the agent is idle", async () => {
    const h = activeCall();
    h.wiring.control.endWhenAgentDone("agent_transfer", "to sales");
    await new Promise((r) => setTimeout(r, 250));
    assert.equal(h.call.phase, "active", "the agent is still speaking");
    h.agent.idle = true;
    const s = await h.done;
    assert.equal(s.end_reason, "agent_transfer");
    assert.equal(s.end_detail, "to sales");
  });
});
