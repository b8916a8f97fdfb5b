/**
 * One meaning of response latency, end to end: from the end of the caller's speech to the agent's
 * first audio. The bridge measures it from the caller audio it relays (its end-of-speech
 * detector) and the agent frames it sends; the simulated caller measures it from its own speech
 * and the frames it receives. On the same call the two must agree, and both must be what the
 * caller waited: the local agent's own end-of-turn wait (its VAD hangover) plus its configured
 * reply delay. (The old measure, from the agent's final transcript, would show only the delay.)
 * The metric, the summary and time to first audio agree as well.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { placeCall } from "../../scripts/lib/exotel-caller.js";
import { ADMIN_HEADERS, type Rig, startRig } from "../support/bridge.js";

const FIXTURES = join(import.meta.dirname, "../../fixtures");
/** The local agent's turn taking: silence this long ends the caller's turn, then it waits this long. */
const AGENT_HANGOVER_MS = 400;
const REPLY_DELAY_MS = 1000;
const EXPECTED_MS = AGENT_HANGOVER_MS + REPLY_DELAY_MS;
/** The two ends differ by transit and timer jitter; generous for a loaded 2-core machine. */
const AGREEMENT_MS = 150;

describe("response latency", { timeout: 90_000 }, () => {
  let rig: Rig;

  before(async () => {
    rig = await startRig(
      { mode: "script", responseDelayMs: REPLY_DELAY_MS, vad: { hangoverMs: AGENT_HANGOVER_MS } },
      {},
      { level: "info" },
    );
  });
  after(() => rig?.close());

  it("is the same number at the bridge and at the caller, and is what the caller waited", async (t) => {
    // Greeting (3.7 s), then the question (5.8 s of speech), then the reply starts and the caller hangs up.
    const { report } = await placeCall({
      url: rig.bridge.url,
      sampleRate: 8000,
      audio: [{ wav: join(FIXTURES, "caller-order-status-8k.wav"), atMs: 4500 }],
      hangupAfterMs: 13_500,
    });
    assert.equal(report.ok, true, report.failures.join("; "));
    const summary = await rig.bridge.logs.summary(10_000);
    const bridge = summary.response_latency_ms as { count: number; avg: number; max: number } | undefined;
    assert.ok(bridge, "the bridge measured the turn");
    assert.equal(bridge.count, 1, "one question, one answer");
    assert.equal(report.latency.count, 1);
    const caller = report.latency.avgMs as number;
    t.diagnostic(
      `response latency: bridge ${bridge.avg} ms, caller ${caller} ms, expected ~${EXPECTED_MS} ms`,
    );
    assert.ok(
      Math.abs(bridge.avg - caller) <= AGREEMENT_MS,
      `bridge ${bridge.avg} ms and caller ${caller} ms agree within ${AGREEMENT_MS} ms`,
    );
    for (const [side, ms] of [
      ["bridge", bridge.avg],
      ["caller", caller],
    ] as const) {
      // Never below what the agent waited; above it only by a frame of detection and the load.
      assert.ok(
        ms >= EXPECTED_MS - 60 && ms <= EXPECTED_MS + 600,
        `${side} latency ${ms} ms, expected about ${EXPECTED_MS} ms (agent hangover + reply delay)`,
      );
    }

    // Time to first audio (the greeting): from start to the first agent frame, at both ends.
    const firstAudio = summary.time_to_first_audio_ms as number;
    assert.ok(
      Math.abs(firstAudio - (report.firstAgentAudioMs as number)) <= AGREEMENT_MS,
      `time to first audio: bridge ${firstAudio} ms, caller ${report.firstAgentAudioMs} ms`,
    );

    // The histogram holds the same observation, in seconds.
    const res = await fetch(`${rig.bridge.http}/metrics`, { headers: ADMIN_HEADERS });
    const text = await res.text();
    const count = Number(/^exotel_bridge_response_latency_seconds_count (\S+)$/m.exec(text)?.[1]);
    const sum = Number(/^exotel_bridge_response_latency_seconds_sum (\S+)$/m.exec(text)?.[1]);
    assert.equal(count, 1);
    assert.ok(Math.abs(sum * 1000 - bridge.avg) <= 1, `metric ${sum} s, summary ${bridge.avg} ms`);
  });
});
