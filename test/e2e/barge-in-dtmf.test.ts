/**
 * Barge-in and DTMF end to end. On `interruption` the bridge must drop every queued frame and the
 * partial buffer of the interrupted response, send `clear` at once, and discard late audio of that
 * response; the next response plays normally. DTMF digits reach the agent as a user message.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { ExotelSocket, type ReceivedFrame } from "../../scripts/lib/exotel-caller.js";
import { type Rig, startRig } from "../support/bridge.js";
import { tone } from "../support/dsp.js";

async function connected(rig: Rig, query: Record<string, string> = {}) {
  const sock = await ExotelSocket.connect({ url: rig.bridge.url, sampleRate: 8000, query });
  sock.sendConnected();
  sock.sendStart();
  const conv = await rig.agent.nextConversation(5000);
  await rig.bridge.logs.waitFor((l) => l.some((x) => x.event === "agent_connected"), 5000, "agent_connected");
  return { sock, conv };
}

function mediaAfter(frames: readonly ReceivedFrame[], index: number): Buffer[] {
  return frames
    .slice(index)
    .filter((f) => f.event === "media")
    .map((f) => Buffer.from((f.json as { media: { payload: string } }).media.payload, "base64"));
}

describe("barge-in", () => {
  it("clears Exotel at once, drops queued and late audio of the interrupted response, plays the next", async () => {
    const rig = await startRig({ outputFormat: "pcm_8000", inputFormat: "pcm_8000" });
    try {
      const { sock, conv } = await connected(rig);
      // A 5 s response arrives at once (faster than real time); the bridge paces it out.
      const first = conv.newEventId();
      conv.sendAudio(tone(300, 8000, 5000), first);
      await sock.waitFor((f) => f.filter((x) => x.event === "media").length >= 3, 3000, "first frames");
      const mediaBefore = sock.received.filter((x) => x.event === "media").length;
      const t = performance.now();
      conv.interrupt(first);
      await sock.waitFor((f) => f.some((x) => x.event === "clear"), 1000, "clear");
      const reaction = performance.now() - t;
      // Immediate on an idle machine (a few ms); the bound only has to catch a clear that waits for pacing.
      assert.ok(reaction < 500, `clear took ${reaction.toFixed(0)} ms`);
      const clearIdx = sock.received.findIndex((x) => x.event === "clear");
      // Late audio of the interrupted response must never reach the caller.
      conv.sendAudio(tone(300, 8000, 1000), first);
      await sleep(600);
      assert.equal(
        mediaAfter(sock.received, clearIdx).length,
        0,
        "late audio of the interrupted response leaked",
      );
      assert.ok(mediaBefore <= 4, `at most the lead was sent before the barge-in (${mediaBefore} frames)`);
      // The next response (higher event id) plays normally.
      const second = conv.newEventId();
      conv.sendAudio(tone(600, 8000, 1000), second);
      await sock.waitFor((f) => f.slice(clearIdx).some((x) => x.event === "mark"), 3000, "mark after reply");
      const next = Buffer.concat(mediaAfter(sock.received, clearIdx));
      assert.ok(next.subarray(0, 16000).equals(tone(600, 8000, 1000)), "the next response arrives intact");
      sock.sendStop();
      sock.close();
      const summary = await rig.bridge.logs.summary();
      assert.equal(summary.interruptions, 1);
      assert.ok((summary.late_agent_chunks_dropped as number) >= 1);
      assert.ok((summary.agent_audio_cut_s as number) > 0, "the cut audio is accounted for");
      const log = rig.bridge.logs.events("interruption")[0];
      assert.ok(
        log && (log.dropped_buffered_ms as number) >= 3000,
        "the buffered rest of the response was dropped",
      );
    } finally {
      await rig.close();
    }
  });

  it("a simulated caller talking over the scripted local agent hears it stop", async () => {
    const rig = await startRig({
      mode: "script",
      outputFormat: "pcm_16000",
      inputFormat: "pcm_16000",
      audioSpeedup: 4,
    });
    try {
      const { placeCall } = await import("../../scripts/lib/exotel-caller.js");
      const { report } = await placeCall({
        url: rig.bridge.url,
        sampleRate: 8000,
        // Speak while the greeting (about 3 s) is still playing.
        audio: [{ wav: "fixtures/caller-barge-in-8k.wav", atMs: 1200 }],
        hangupAfterMs: 9000,
      });
      assert.ok(report.clears >= 1, "Exotel received clear");
      assert.equal(report.frames.violations, 0, JSON.stringify(report.frames.violationSamples));
      assert.ok(report.maxQueuedAheadMs <= 450, `queued ${report.maxQueuedAheadMs} ms ahead`);
      const conv = rig.agent.conversations[0];
      assert.ok(conv && conv.interruptions.length >= 1, "the agent detected the barge-in");
      const summary = await rig.bridge.logs.summary(10_000);
      assert.ok((summary.interruptions as number) >= 1);
    } finally {
      await rig.close();
    }
  });
});

describe("DTMF", () => {
  it("sends digits to the agent as one user message on # and logs each digit", async () => {
    // Digits are logged only when transcripts are (the privacy default keeps them out).
    const rig = await startRig(
      { outputFormat: "pcm_8000", inputFormat: "pcm_8000" },
      { LOG_TRANSCRIPTS: "lines" },
    );
    try {
      const { sock, conv } = await connected(rig);
      for (const d of "4567#") {
        sock.sendDtmf(d);
        await sleep(30);
      }
      await conv.waitFor((c) => c.received.some((m) => m.type === "user_message"), 2000, "user_message");
      await sleep(0);
      assert.deepEqual(conv.userMessages, ["4567"]);
      assert.deepEqual(
        rig.bridge.logs.events("dtmf").map((l) => l.digit),
        ["4", "5", "6", "7", "#"],
      );
      sock.sendStop();
      sock.close();
      const summary = await rig.bridge.logs.summary();
      assert.equal(summary.dtmf, "4567#");
    } finally {
      await rig.close();
    }
  });

  it("flushes after a pause, and contextual_update mode sends each digit as context", async () => {
    const rig = await startRig(
      { outputFormat: "pcm_8000", inputFormat: "pcm_8000" },
      { DTMF_FLUSH_MS: "200" },
    );
    try {
      const { sock, conv } = await connected(rig);
      sock.sendDtmf("1");
      sock.sendDtmf("2");
      await conv.waitFor(
        (c) => c.received.some((m) => m.type === "user_message"),
        2000,
        "user_message after pause",
      );
      await sleep(0);
      assert.deepEqual(conv.userMessages, ["12"]);
      sock.close();
    } finally {
      await rig.close();
    }
    const ctx = await startRig(
      { outputFormat: "pcm_8000", inputFormat: "pcm_8000" },
      { DTMF_MODE: "contextual_update" },
    );
    try {
      const { sock, conv } = await connected(ctx);
      sock.sendDtmf("9");
      await sleep(300);
      await conv.waitFor(
        (c) => c.received.some((m) => m.type === "contextual_update"),
        2000,
        "contextual_update",
      );
      assert.match(
        conv.received.find((m) => m.type === "contextual_update")?.message
          ? JSON.stringify(conv.received.find((m) => m.type === "contextual_update")?.message)
          : "",
        /pressed 9/,
      );
      assert.equal(conv.userMessages.length, 0);
      sock.close();
    } finally {
      await ctx.close();
    }
  });
});
