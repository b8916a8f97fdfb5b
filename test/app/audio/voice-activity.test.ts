/**
 * The end-of-speech detector on the shipped fixtures: where sox puts the end of the caller's
 * speech (`sox caller-order-status-8k.wav -n reverse silence 1 0.02 -40d stat`: 0.355 s of
 * trailing silence in a 6.165 s file, so speech ends at 5.81 s), streamed in Exotel-sized frames,
 * in odd-sized pieces that split samples, at 16 kHz and as mu-law.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, it } from "node:test";
import { pcm16ToUlaw } from "../../../app/src/audio/mulaw.js";
import {
  SPEECH_ENDED,
  SPEECH_STARTED,
  VoiceActivity,
  type VoiceEncoding,
} from "../../../app/src/audio/voice-activity.js";
import { readMonoWav } from "../../../scripts/lib/wav.js";

const FIXTURES = join(import.meta.dirname, "../../../fixtures");
/** From sox, as above. */
const SOX_END_MS = 5810;

interface Seen {
  starts: number[];
  ends: number[];
}

/** Streams `bytes` in pieces of `piece` bytes, then `tailMs` of silence; collects what it found. */
function run(
  bytes: Buffer,
  rate: number,
  encoding: VoiceEncoding,
  piece: number,
  tailMs = 1000,
  silenceByte = 0,
): Seen {
  const vad = new VoiceActivity();
  vad.setFormat(rate, encoding);
  const seen: Seen = { starts: [], ends: [] };
  const bytesPerMs = ((encoding === "ulaw" ? 1 : 2) * rate) / 1000;
  const all = Buffer.concat([bytes, Buffer.alloc(Math.round(tailMs * bytesPerMs), silenceByte)]);
  for (let off = 0; off < all.length; off += piece) {
    const changed = vad.push(all.subarray(off, off + piece));
    if (changed & SPEECH_STARTED) seen.starts.push(vad.speechStartMs);
    if (changed & SPEECH_ENDED) seen.ends.push(vad.lastVoiceEndMs);
  }
  return seen;
}

describe("VoiceActivity", () => {
  const order8k = readMonoWav(join(FIXTURES, "caller-order-status-8k.wav"));

  it("finds the end of the caller's question within 100 ms of where sox puts it (100 ms frames)", () => {
    const seen = run(order8k.pcm, 8000, "pcm16", 1600);
    assert.equal(seen.ends.length, 1, `one turn, not split at the pause between sentences: ${seen.ends}`);
    assert.equal(seen.starts.length, 1);
    const end = seen.ends[0] as number;
    assert.ok(Math.abs(end - SOX_END_MS) <= 100, `end ${end} ms, sox ${SOX_END_MS} ms`);
    assert.ok((seen.starts[0] as number) <= 150, `speech starts near the beginning: ${seen.starts[0]}`);
  });

  it("gives the same answer for odd-sized pieces that split samples", () => {
    const a = run(order8k.pcm, 8000, "pcm16", 1600);
    const b = run(order8k.pcm, 8000, "pcm16", 333);
    assert.deepEqual(b, a);
  });

  it("works at 16 kHz on the 16 kHz fixture", () => {
    const order16k = readMonoWav(join(FIXTURES, "caller-order-status-16k.wav"));
    const seen = run(order16k.pcm, 16000, "pcm16", 3200);
    assert.equal(seen.ends.length, 1);
    assert.ok(Math.abs((seen.ends[0] as number) - SOX_END_MS) <= 100, `end ${seen.ends[0]} ms`);
  });

  it("reads mu-law streams directly", () => {
    // 0xff is mu-law's zero.
    const seen = run(pcm16ToUlaw(order8k.pcm), 8000, "ulaw", 800, 1000, 0xff);
    assert.equal(seen.ends.length, 1);
    assert.ok(Math.abs((seen.ends[0] as number) - SOX_END_MS) <= 100, `end ${seen.ends[0]} ms`);
  });

  it("reports nothing for silence or a click, and the end only after the hangover", () => {
    const vad = new VoiceActivity();
    vad.setFormat(8000, "pcm16");
    assert.equal(vad.push(Buffer.alloc(16000)), 0);
    // A 20 ms click at full scale is not speech.
    const click = Buffer.alloc(320);
    for (let i = 0; i < click.length; i += 2) click.writeInt16LE(i & 2 ? 30000 : -30000, i);
    assert.equal(vad.push(click), 0);
    assert.equal(vad.speaking, false);
    // The barge-in fixture: speech starts, and its end is reported once 600 ms of silence follow.
    const barge = readMonoWav(join(FIXTURES, "caller-barge-in-8k.wav"));
    let changed = 0;
    for (let off = 0; off < barge.pcm.length; off += 1600)
      changed |= vad.push(barge.pcm.subarray(off, off + 1600));
    assert.ok(changed & SPEECH_STARTED);
    const last = vad.lastVoiceEndMs;
    assert.equal(vad.speaking, true, "the fixture's own trailing silence is shorter than the hangover");
    // Up to 580 ms after the last voiced block: still a pause.
    assert.equal(vad.push(Buffer.alloc(16 * Math.max(0, last + 580 - vad.audioMs))), 0);
    assert.equal(vad.speaking, true);
    assert.equal(vad.push(Buffer.alloc(16 * 40)), SPEECH_ENDED);
    assert.equal(vad.lastVoiceEndMs, last, "the end is the last voiced block, not the hangover's end");
  });

  it("keeps audio time across pieces", () => {
    const vad = new VoiceActivity();
    vad.setFormat(8000, "pcm16");
    vad.push(Buffer.alloc(1601));
    vad.push(Buffer.alloc(1599));
    assert.equal(vad.audioMs, 200);
  });
});
