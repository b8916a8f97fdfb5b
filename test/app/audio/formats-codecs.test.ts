import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { alawToPcm16, pcm16ToAlaw } from "../../../app/src/audio/alaw.js";
import { createConverter, describeConversion } from "../../../app/src/audio/converter.js";
import {
  AGENT_AUDIO_FORMATS,
  type AudioFormat,
  EXOTEL_ULAW_FORMAT,
  exotelFormat,
  exotelStreamFormat,
  formatName,
  parseAgentFormat,
} from "../../../app/src/audio/formats.js";
import { Framer, framingRules, isValidFrameSize } from "../../../app/src/audio/framer.js";
import { pcm16ToUlaw, ulawToPcm16 } from "../../../app/src/audio/mulaw.js";

/** `ms` of a 440 Hz tone as PCM16 LE at `rate`. */
function tone(rate: number, ms: number, amplitude = 8000): Buffer {
  const n = Math.round((rate * ms) / 1000);
  const out = Buffer.alloc(n * 2);
  for (let i = 0; i < n; i++)
    out.writeInt16LE(Math.round(amplitude * Math.sin((2 * Math.PI * 440 * i) / rate)), i * 2);
  return out;
}

function rms(pcm: Buffer, skipSamples = 0): number {
  let sum = 0;
  let n = 0;
  for (let i = skipSamples * 2; i + 1 < pcm.length; i += 2) {
    const v = pcm.readInt16LE(i);
    sum += v * v;
    n++;
  }
  return Math.sqrt(sum / Math.max(1, n));
}

describe("audio formats", () => {
  it("parses every documented agent format, alaw_8000 included", () => {
    for (const name of AGENT_AUDIO_FORMATS) {
      const f = parseAgentFormat(name);
      assert.ok(f, name);
      assert.equal(formatName(f as AudioFormat), name);
      assert.ok(Object.isFrozen(f));
    }
    assert.deepEqual(parseAgentFormat("alaw_8000"), { encoding: "alaw", sampleRate: 8000 });
    assert.deepEqual(parseAgentFormat("ulaw_8000"), { encoding: "ulaw", sampleRate: 8000 });
    assert.equal(parseAgentFormat("mp3_44100_128"), undefined);
    assert.equal(parseAgentFormat("ulaw_16000"), undefined);
  });

  it("models the Exotel stream: PCM16 at 8/16/24 kHz, mu-law at 8 kHz only, shared objects", () => {
    assert.equal(exotelStreamFormat("ulaw", 8000), EXOTEL_ULAW_FORMAT);
    assert.equal(exotelStreamFormat("ulaw", 16000), undefined);
    assert.equal(exotelStreamFormat("pcm16", 16000), exotelFormat(16000));
    assert.equal(exotelStreamFormat("pcm16", 11025), undefined);
    assert.ok(Object.isFrozen(EXOTEL_ULAW_FORMAT));
  });
});

describe("mu-law streams end to end", () => {
  it("pass straight through to a ulaw_8000 agent, both ways", () => {
    const agent = parseAgentFormat("ulaw_8000") as AudioFormat;
    assert.equal(createConverter(EXOTEL_ULAW_FORMAT, agent, 3), null);
    assert.equal(createConverter(agent, EXOTEL_ULAW_FORMAT, 3), null);
    assert.equal(describeConversion(EXOTEL_ULAW_FORMAT, agent), "ulaw_8000 passthrough");
  });

  it("decode for a PCM agent at any rate and encode the agent's audio back to mu-law", () => {
    const caller = pcm16ToUlaw(tone(8000, 400));
    for (const name of ["pcm_8000", "pcm_16000", "pcm_22050", "pcm_24000", "pcm_44100", "pcm_48000"]) {
      const agent = parseAgentFormat(name) as AudioFormat;
      const up = createConverter(EXOTEL_ULAW_FORMAT, agent, 3);
      assert.ok(up, name);
      const pcm = up.convert(caller);
      up.destroy();
      const expected = (caller.length * agent.sampleRate) / 8000;
      assert.ok(
        Math.abs(pcm.length / 2 - expected) < expected * 0.05 + 64,
        `${name}: ${pcm.length / 2} samples`,
      );
      assert.ok(Math.abs(rms(pcm, 200) - 8000 / Math.SQRT2) < 800, `${name}: level kept`);

      const down = createConverter(agent, EXOTEL_ULAW_FORMAT, 3);
      assert.ok(down, name);
      const ulaw = down.convert(tone(agent.sampleRate, 400));
      down.destroy();
      assert.ok(Math.abs(ulaw.length - 3200) < 200, `${name}: ${ulaw.length} mu-law bytes for 400 ms`);
      assert.ok(Math.abs(rms(ulawToPcm16(ulaw), 100) - 8000 / Math.SQRT2) < 800, `${name}: level back`);
    }
  });

  it("convert between a mu-law stream and an A-law agent without resampling", () => {
    const agent = parseAgentFormat("alaw_8000") as AudioFormat;
    const pcm = tone(8000, 200);
    const toAgent = createConverter(EXOTEL_ULAW_FORMAT, agent, 3);
    const toCaller = createConverter(agent, EXOTEL_ULAW_FORMAT, 3);
    assert.ok(toAgent && toCaller);
    const alaw = toAgent.convert(pcm16ToUlaw(pcm));
    assert.equal(alaw.length, pcm.length / 2);
    const back = ulawToPcm16(toCaller.convert(alaw));
    assert.ok(Math.abs(rms(back) - rms(pcm)) < 200);
  });

  it("A-law round-trips every code and keeps the level of speech-band audio", () => {
    const codes = Buffer.alloc(256);
    for (let i = 0; i < 256; i++) codes[i] = i;
    assert.ok(pcm16ToAlaw(alawToPcm16(codes)).equals(codes));
    const pcm = tone(8000, 100);
    assert.ok(Math.abs(rms(alawToPcm16(pcm16ToAlaw(pcm))) - rms(pcm)) < 100);
  });
});

describe("framing rules for mu-law", () => {
  it("obey the byte rules as written and their 8 kHz PCM16 durations at once", () => {
    assert.deepEqual(framingRules(EXOTEL_ULAW_FORMAT, 3200), {
      sampleRate: 8000,
      unitBytes: 320,
      minFrameBytes: 3200,
      maxFrameBytes: 49_920,
      targetFrameBytes: 3200,
      bytesPerMs: 8,
      silenceByte: 0xff,
    });
    assert.equal(
      framingRules(EXOTEL_ULAW_FORMAT, 9600).targetFrameBytes,
      4800,
      "same duration as 9600 PCM16 bytes",
    );
    assert.equal(framingRules(EXOTEL_ULAW_FORMAT, 10_000_000).targetFrameBytes, 49_920);
    assert.deepEqual(framingRules(exotelFormat(16000), 3200), framingRules(16000, 3200));
  });

  it("pad the final frame with mu-law silence (0xFF), not zeros", () => {
    const f = new Framer(framingRules(EXOTEL_ULAW_FORMAT, 3200));
    f.push(Buffer.alloc(500, 0x12));
    const tail = f.takeFinal() as Buffer;
    assert.equal(tail.length, 3200);
    assert.equal(tail[499], 0x12);
    assert.ok(tail.subarray(500).every((b) => b === 0xff));
    assert.equal(ulawToPcm16(tail.subarray(500, 502)).readInt16LE(0), 0, "0xFF decodes to zero");
  });

  it("every frame from any chunking is on the 320-byte grid", () => {
    const r = framingRules(EXOTEL_ULAW_FORMAT, 3200);
    const f = new Framer(r);
    const out: Buffer[] = [];
    for (let k = 1; k < 60; k++) {
      f.push(Buffer.alloc((k * 373) % 2000, k));
      for (let fr = f.takeFrame(); fr; fr = f.takeFrame()) out.push(Buffer.from(fr));
    }
    const tail = f.takeFinal();
    if (tail) out.push(tail);
    assert.ok(out.length > 5);
    for (const fr of out)
      assert.ok(isValidFrameSize(fr.length, r) && fr.length % 160 === 0, String(fr.length));
  });
});
