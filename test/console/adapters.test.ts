/**
 * The console's event builders against the real records they read: a CallInfo and the
 * `call_summary` record that buildSummary produces (so a renamed summary field fails here).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { buildSummary, CallStats } from "../../app/src/call/summary.js";
import { callEndedEvent, callStartedEvent } from "../../app/src/console/adapters.js";

const info = {
  callId: "call-7",
  callSid: "CA7",
  streamSid: "ST7",
  accountSid: "AC7",
  from: "+919800000007",
  to: "+918000000000",
  customParameters: {},
  sampleRate: 8000 as const,
  requestedAgentId: undefined,
};

describe("console adapters", () => {
  it("call_started from CallInfo", () => {
    assert.deepEqual(callStartedEvent(info, "agent_x", "8 kHz PCM ↔ pcm_16000", 123), {
      type: "call_started",
      callId: "call-7",
      at: 123,
      callSid: "CA7",
      streamSid: "ST7",
      from: "+919800000007",
      to: "+918000000000",
      agentId: "agent_x",
      audioPath: "8 kHz PCM ↔ pcm_16000",
    });
  });

  it("call_ended from a real call_summary record", () => {
    const stats = new CallStats();
    stats.firstAudioMs = 611.6;
    stats.addResponseLatency(500);
    stats.addResponseLatency(900);
    stats.interruptions = 2;
    stats.addTurn({ role: "user", text: "hi", at: 1 });
    stats.addTurn({ role: "agent", text: "hello", at: 2 });
    stats.addTurn({ role: "user", text: "bye", at: 3 });
    const summary = buildSummary({
      callId: "call-7",
      callSid: "CA7",
      streamSid: "ST7",
      accountSid: "AC7",
      conversationId: "conv",
      agentId: "agent_x",
      from: info.from,
      to: info.to,
      sampleRate: 8000,
      agentFormats: undefined,
      customParameters: {},
      startedAt: new Date(0),
      durationMs: 42_345,
      endReason: "agent_transfer",
      endedBy: "agent",
      endDetail: undefined,
      agentClose: undefined,
      agentError: undefined,
      heardAgentMs: 0,
      clearedAgentMs: 0,
      stats,
    });
    assert.deepEqual(callEndedEvent("call-7", summary, 999), {
      type: "call_ended",
      callId: "call-7",
      at: 999,
      endReason: "agent_transfer",
      endedBy: "agent",
      durationS: 42.345,
      timeToFirstAudioMs: 612,
      responseLatencyMs: { count: 2, avg: 700, max: 900 },
      interruptions: 2,
      transcriptTurns: 3,
    });
  });
});
