/**
 * Format conversion through the real bridge: every agent format against every Exotel rate that
 * needs conversion. A tone must come out at the same frequency and duration, with no imaging or
 * aliasing above -40 dB (the original Python bridge forwarded audio unconverted or with linear
 * interpolation: slow/deep voices and aliasing).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { ExotelSocket } from "../../scripts/lib/exotel-caller.js";
import type { AgentAudioFormat } from "../../scripts/lib/local-agent.js";
import { startRig } from "../support/bridge.js";
import { db, peakFrequency, samples, tone, tonePower } from "../support/dsp.js";

function agentRate(format: AgentAudioFormat): number {
  return Number(format.split("_")[1]);
}

async function callWith(format: AgentAudioFormat, exotelRate: 8000 | 16000 | 24000) {
  const rig = await startRig({ outputFormat: format, inputFormat: format });
  const sock = await ExotelSocket.connect({ url: rig.bridge.url, sampleRate: exotelRate });
  sock.sendConnected();
  sock.sendStart();
  const conv = await rig.agent.nextConversation(5000);
  await rig.bridge.logs.waitFor((l) => l.some((x) => x.event === "agent_connected"), 5000, "agent_connected");
  return { rig, sock, conv };
}

/** Agent audio as received by the simulated Exotel, concatenated. */
function exotelAudio(sock: ExotelSocket): Buffer {
  return Buffer.concat(
    sock.received
      .filter((f) => f.event === "media")
      .map((f) => Buffer.from((f.json as { media: { payload: string } }).media.payload, "base64")),
  );
}

const CASES: Array<[AgentAudioFormat, 8000 | 16000 | 24000]> = [
  ["pcm_16000", 8000],
  ["pcm_8000", 16000],
  ["pcm_24000", 8000],
  ["pcm_44100", 16000],
  ["pcm_48000", 24000],
  ["pcm_22050", 8000],
  ["ulaw_8000", 8000],
  ["ulaw_8000", 16000],
];

describe("format conversion both ways", () => {
  for (const [format, rate] of CASES) {
    it(`${format} agent with a ${rate} Hz stream: frequency and duration preserved both ways`, async () => {
      const { rig, sock, conv } = await callWith(format, rate);
      try {
        // Caller -> agent: 1 s of 440 Hz in 100 ms frames.
        const before = conv.userAudioPcm().length;
        const callerTone = tone(440, rate, 1000);
        for (let i = 0; i < 10; i++)
          sock.sendMedia(callerTone.subarray(i * (rate / 5), (i + 1) * (rate / 5)));
        const inRate = format === "ulaw_8000" ? 8000 : agentRate(format);
        await conv.waitFor(
          (c) => c.userAudioPcm().length - before >= inRate * 2 * 0.99,
          5000,
          "caller audio",
        );
        await sleep(50);
        const up = conv.userAudioPcm().subarray(before);
        const upSamples = up.length / 2;
        assert.ok(
          Math.abs(upSamples - inRate) <= inRate * 0.01,
          `agent got ${upSamples} samples, want ~${inRate}`,
        );
        assert.equal(peakFrequency(samples(up).subarray(inRate / 10, inRate - inRate / 10), inRate, 10), 440);

        // Agent -> caller: 1 s of 440 Hz in 250 ms bursts.
        const outRate = format === "ulaw_8000" ? 8000 : agentRate(format);
        const agentTone = tone(440, outRate, 1000);
        const id = conv.newEventId();
        const q = Math.floor(outRate / 4) * 2;
        for (let off = 0; off < agentTone.length; off += q)
          conv.sendAudio(agentTone.subarray(off, off + q), id);
        await sock.waitFor((f) => f.some((x) => x.event === "mark"), 5000, "end-of-response mark");
        const down = exotelAudio(sock);
        const downMs = down.length / (rate / 500);
        assert.ok(downMs >= 995 && downMs < 1000 + 200, `caller got ${downMs} ms`);
        const x = samples(down).subarray(rate / 10, (rate * 9) / 10);
        assert.equal(peakFrequency(x, rate, 10), 440);
      } finally {
        sock.close();
        await rig.close();
      }
    });
  }

  it("no imaging above -40 dB caller -> agent (8 kHz stream, pcm_16000 agent, 3 kHz tone, image at 5 kHz)", async () => {
    const { rig, sock, conv } = await callWith("pcm_16000", 8000);
    try {
      const t = tone(3000, 8000, 1000);
      for (let i = 0; i < 10; i++) sock.sendMedia(t.subarray(i * 1600, (i + 1) * 1600));
      await conv.waitFor((c) => c.userAudioPcm().length >= 31_000, 5000, "caller audio");
      const x = samples(conv.userAudioPcm()).subarray(1600, 14_400);
      const image = db(tonePower(x, 16000, 5000) / tonePower(x, 16000, 3000));
      assert.ok(image < -40, `image at ${image.toFixed(1)} dB`);
    } finally {
      sock.close();
      await rig.close();
    }
  });

  it("no aliasing above -40 dB agent -> caller (pcm_16000 agent, 8 kHz stream, 5 kHz tone would alias to 3 kHz)", async () => {
    const { rig, sock, conv } = await callWith("pcm_16000", 8000);
    try {
      conv.sendAudio(tone(5000, 16000, 1000), conv.newEventId());
      await sock.waitFor((f) => f.some((x) => x.event === "mark"), 5000, "mark");
      const x = samples(exotelAudio(sock)).subarray(800, 7200);
      const ref = tonePower(samples(tone(3000, 8000, 1000)).subarray(800, 7200), 8000, 3000);
      const alias = db(tonePower(x, 8000, 3000) / ref);
      assert.ok(alias < -40, `alias at ${alias.toFixed(1)} dB`);
    } finally {
      sock.close();
      await rig.close();
    }
  });
});
