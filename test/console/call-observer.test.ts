/**
 * The console's call observer on its own: what each observed call event becomes in the feed, that
 * the card waits for the agent to be chosen, that a refused call still gets its "last calls" row,
 * and that a stream which never started leaves no trace.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { CallSummary } from "../../app/src/call/summary.js";
import { consoleObserver } from "../../app/src/console/call-observer.js";
import type { ConsoleEvent } from "../../app/src/console/events.js";
import { ConsoleFeed } from "../../app/src/console/feed.js";

const START = { callId: "c1", callSid: "CA1", streamSid: "ST1", from: "+911", to: "+912", sampleRate: 8000 };

function summary(over: Partial<CallSummary> = {}): CallSummary {
  return {
    end_reason: "caller_hangup",
    ended_by: "caller",
    duration_s: 12.5,
    agent_id: "agent_x",
    time_to_first_audio_ms: 700,
    response_latency_ms: { count: 1, avg: 950, max: 950 },
    interruptions: 1,
    transcript_turns: 3,
    ...over,
  } as CallSummary;
}

/** A feed that also remembers what was published to it. */
function recordingFeed(): { feed: ConsoleFeed; events: ConsoleEvent[] } {
  const feed = new ConsoleFeed();
  const events: ConsoleEvent[] = [];
  const publish = feed.publish.bind(feed);
  feed.publish = (e) => {
    events.push(e);
    publish(e);
  };
  return { feed, events };
}

describe("consoleObserver", () => {
  it("turns a call's observed events into console events, the card once the agent is chosen", () => {
    const { feed, events } = recordingFeed();
    const o = consoleObserver(feed, () => 1000);
    o.callStarted?.(START);
    assert.equal(events.length, 0, "no card before the agent is chosen");
    o.agentConnected?.({
      callId: "c1",
      agentId: "agent_x",
      conversationId: "conv",
      agentInputFormat: "pcm_16000",
      agentOutputFormat: "pcm_16000",
      setupMs: 300,
    });
    o.transcript?.({ callId: "c1", role: "agent", text: "Hello", at: 1, corrected: false });
    o.transcript?.({ callId: "c1", role: "user", text: "Hi", at: 2, corrected: false });
    o.responseStarted?.({ callId: "c1", eventId: 3, turnLatencyMs: 950 });
    o.responseStarted?.({ callId: "c1", eventId: 4, turnLatencyMs: undefined });
    o.interruption?.({ callId: "c1", eventId: 3, cutMs: 200 });
    o.transcript?.({ callId: "c1", role: "agent", text: "Hel", at: 3, corrected: true });
    o.dtmf?.({ callId: "c1", digit: "5" });
    o.callEnded?.({ callId: "c1", summary: summary() });
    assert.deepEqual(
      events.map((e) => e.type),
      [
        "call_started",
        "transcript",
        "transcript",
        "turn",
        "interruption",
        "agent_correction",
        "dtmf",
        "call_ended",
      ],
    );
    assert.deepEqual(events[0], {
      type: "call_started",
      callId: "c1",
      at: 1000,
      callSid: "CA1",
      streamSid: "ST1",
      from: "+911",
      to: "+912",
      agentId: "agent_x",
      audioPath: "8 kHz stream ↔ pcm_16000",
    });
    assert.deepEqual(
      events.filter((e) => e.type === "transcript").map((e) => (e.type === "transcript" ? e.role : "")),
      ["agent", "caller"],
    );
    assert.deepEqual(events[3], { type: "turn", callId: "c1", at: 1000, latencyMs: 950 });
    const row = feed.snapshot().ended[0];
    assert.equal(row?.from, "+911");
    assert.equal(row?.dtmf, "5");
    assert.deepEqual(row?.responseLatencyMs, { count: 1, avg: 950, max: 950 });
    assert.equal(feed.activeCount, 0);
  });

  it("a call refused before its agent answered still gets its row", () => {
    const { feed, events } = recordingFeed();
    const o = consoleObserver(feed);
    o.callStarted?.(START);
    o.callEnded?.({
      callId: "c1",
      summary: summary({ end_reason: "agent_not_allowed", ended_by: "bridge" }),
    });
    assert.deepEqual(
      events.map((e) => e.type),
      ["call_started", "call_ended"],
    );
    assert.equal(feed.snapshot().ended[0]?.endReason, "agent_not_allowed");
    assert.equal(feed.snapshot().ended[0]?.to, "+912");
  });

  it("a stream that never sent start leaves nothing", () => {
    const { feed, events } = recordingFeed();
    consoleObserver(feed).callEnded?.({ callId: "c1", summary: summary({ end_reason: "start_timeout" }) });
    assert.equal(events.length, 0);
    assert.equal(feed.snapshot().ended.length, 0);
  });
});
