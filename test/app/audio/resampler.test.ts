import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { createConverter } from "../../../app/src/audio/converter.js";
import { liveResamplers, Resampler } from "../../../app/src/audio/resampler.js";
import { db, peakFrequency, samples, tone, tonePower } from "../../support/dsp.js";

/** Feeds `pcm` through `r` in chunks of `chunkMs`, the way a call does. */
function stream(r: { process(b: Buffer): Buffer }, pcm: Buffer, rate: number, chunkMs: number): Buffer {
  const step = Math.round((rate * chunkMs) / 1000) * 2;
  const parts: Buffer[] = [];
  for (let i = 0; i < pcm.length; i += step) parts.push(r.process(pcm.subarray(i, i + step)));
  return Buffer.concat(parts);
}

function wavData(path: string): Buffer {
  const file = readFileSync(path);
  const idx = file.indexOf("data");
  return file.subarray(idx + 8, idx + 8 + file.readUInt32LE(idx + 4));
}

describe("Resampler (speexdsp WASM)", () => {
  it("upsamples 8k -> 16k without imaging above -40 dB (3 kHz tone, image at 5 kHz)", () => {
    const r = new Resampler(8000, 16000, 5);
    const out = samples(stream(r, tone(3000, 8000, 1000), 8000, 100));
    r.destroy();
    const steady = out.subarray(1600, out.length - 1600);
    const image = db(tonePower(steady, 16000, 5000) / tonePower(steady, 16000, 3000));
    assert.ok(image < -40, `image at ${image.toFixed(1)} dB`);
  });

  it("downsamples 16k -> 8k without aliasing above -40 dB (5 kHz tone would alias to 3 kHz)", () => {
    const r = new Resampler(16000, 8000, 5);
    const input = tone(5000, 16000, 1000);
    const out = samples(stream(r, input, 16000, 100));
    r.destroy();
    const ref = tonePower(samples(tone(3000, 8000, 1000)).subarray(800, 7200), 8000, 3000);
    const alias = db(tonePower(out.subarray(800, out.length - 800), 8000, 3000) / ref);
    assert.ok(alias < -40, `alias at ${alias.toFixed(1)} dB`);
  });

  it("keeps frequency and duration of the 1 kHz 16k fixture when going to 8k in 100 ms chunks", () => {
    const pcm = wavData("fixtures/tone-1khz-16k-2s.wav");
    const r = new Resampler(16000, 8000, 5);
    const out = stream(r, pcm, 16000, 100);
    r.destroy();
    // Exactly half the samples (within the filter's few-sample delay).
    assert.ok(Math.abs(out.length / 2 - pcm.length / 4) <= 64, `got ${out.length / 2} samples`);
    assert.equal(peakFrequency(samples(out).subarray(400, 15600), 8000, 10), 1000);
  });

  it("keeps state across chunks: chunked output equals one-shot output", () => {
    const input = tone(440, 8000, 500);
    const a = new Resampler(8000, 24000, 5);
    const b = new Resampler(8000, 24000, 5);
    const chunked = stream(a, input, 8000, 20);
    const whole = b.process(input);
    a.destroy();
    b.destroy();
    assert.equal(chunked.length, whole.length);
    assert.ok(chunked.equals(whole));
  });

  it("handles every agent rate to every Exotel rate with the right length", () => {
    for (const from of [8000, 16000, 22050, 24000, 44100, 48000]) {
      for (const to of [8000, 16000, 24000]) {
        if (from === to) continue;
        const r = new Resampler(from, to, 3);
        const out = stream(r, tone(440, from, 1000), from, 250);
        r.destroy();
        const expected = to;
        assert.ok(Math.abs(out.length / 2 - expected) <= 80, `${from}->${to}: ${out.length / 2} samples`);
        assert.equal(peakFrequency(samples(out).subarray(200, to - 200), to, 10), 440, `${from}->${to}`);
      }
    }
  });

  it("frees its WASM memory on destroy, and destroy is idempotent", () => {
    const before = liveResamplers();
    const r = new Resampler(16000, 8000);
    assert.equal(liveResamplers(), before + 1);
    r.destroy();
    r.destroy();
    assert.equal(liveResamplers(), before);
    assert.throws(() => r.process(Buffer.alloc(4)), /after destroy/);
  });

  it("rejects invalid rates and quality", () => {
    assert.throws(() => new Resampler(0, 8000), RangeError);
    assert.throws(() => new Resampler(8000, 16000, 11), RangeError);
  });
});

describe("createConverter", () => {
  it("returns null for identical formats (passthrough)", () => {
    assert.equal(
      createConverter({ encoding: "pcm16", sampleRate: 8000 }, { encoding: "pcm16", sampleRate: 8000 }, 5),
      null,
    );
  });

  it("ulaw_8000 -> pcm 16k keeps the tone", () => {
    const toUlaw = createConverter(
      { encoding: "pcm16", sampleRate: 8000 },
      { encoding: "ulaw", sampleRate: 8000 },
      5,
    );
    const back = createConverter(
      { encoding: "ulaw", sampleRate: 8000 },
      { encoding: "pcm16", sampleRate: 16000 },
      5,
    );
    assert.ok(toUlaw && back);
    const ulaw = toUlaw.convert(tone(440, 8000, 500));
    assert.equal(ulaw.length, 4000);
    const pcm = back.convert(ulaw);
    toUlaw.destroy();
    back.destroy();
    assert.equal(peakFrequency(samples(pcm).subarray(200, 7800), 16000, 10), 440);
  });

  it("keeps sample alignment across odd-length chunks", () => {
    const c = createConverter(
      { encoding: "pcm16", sampleRate: 16000 },
      { encoding: "pcm16", sampleRate: 8000 },
      5,
    );
    assert.ok(c);
    const input = tone(440, 16000, 200);
    const parts: Buffer[] = [];
    for (let i = 0; i < input.length; i += 333) parts.push(c.convert(input.subarray(i, i + 333)));
    const out = Buffer.concat(parts);
    c.destroy();
    const ref = new Resampler(16000, 8000, 5);
    const expected = ref.process(input);
    ref.destroy();
    assert.ok(out.equals(expected), "odd chunking changed the output");
  });
});
