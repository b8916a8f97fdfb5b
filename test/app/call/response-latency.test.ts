/**
 * The bridge's response latency on a made-up timeline (real detector, fake clock): speech placed on
 * the call clock through the frame that carried it, a greeting not counted as a turn, a reply that
 * comes before the detector's hangover has run out still measured from where the caller stopped,
 * a barge-in's reply measured from the end of the barge-in, and a mu-law stream.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { pcm16ToUlaw } from "../../../app/src/audio/mulaw.js";
import { ResponseLatency } from "../../../app/src/call/response-latency.js";
import { tone } from "../../support/dsp.js";

const FRAME_MS = 100;
const FRAME_BYTES = 1600;

/** Caller frames of 100 ms at 8 kHz: `speech` frames of tone, then `silence` frames, from `t0`. */
function feed(
  lat: ResponseLatency,
  t0: number,
  speech: number,
  silence: number,
  encode = (pcm: Buffer) => pcm,
): number {
  let t = t0;
  for (let i = 0; i < speech + silence; i++) {
    const pcm = i < speech ? tone(300, 8000, FRAME_MS, 0.3) : Buffer.alloc(FRAME_BYTES);
    t += FRAME_MS;
    // A frame arrives once its 100 ms have been captured.
    lat.caller(encode(pcm), t);
  }
  return t;
}

describe("ResponseLatency", () => {
  it("measures from the end of the caller's speech to the first frame sent, not counting a greeting", () => {
    const lat = new ResponseLatency();
    lat.setFormat(8000, "pcm16");
    // The greeting: no caller speech before it.
    lat.responseStarted();
    assert.equal(lat.pending, false);
    assert.equal(lat.firstAudio(50), undefined);
    // Speech for 1 s from t = 1000 (ends at 2000), then silence.
    const end = feed(lat, 1000, 10, 10);
    assert.equal(end, 3000);
    lat.responseStarted();
    assert.equal(lat.pending, true);
    assert.equal(lat.firstAudio(2900), 900);
    // The same response's later frames are not new turns.
    assert.equal(lat.firstAudio(3000), undefined);
  });

  it("measures a reply that comes before the detector's hangover has ended the speech", () => {
    const lat = new ResponseLatency();
    lat.setFormat(8000, "pcm16");
    // Speech ends at 1000; only 300 ms of silence follow (the detector still holds the turn open).
    feed(lat, 0, 10, 3);
    lat.responseStarted();
    assert.equal(lat.firstAudio(1300), 300);
  });

  it("measures the reply after a barge-in from the end of the barge-in", () => {
    const lat = new ResponseLatency();
    lat.setFormat(8000, "pcm16");
    feed(lat, 0, 10, 8);
    lat.responseStarted();
    assert.equal(lat.firstAudio(1800), 800);
    // The caller talks over that answer from 3000 to 4000; the agent's next response follows.
    feed(lat, 3000, 10, 10);
    lat.responseStarted();
    assert.equal(lat.firstAudio(4700), 700);
  });

  it("reads a mu-law stream", () => {
    const lat = new ResponseLatency();
    lat.setFormat(8000, "ulaw");
    feed(lat, 0, 10, 10, pcm16ToUlaw);
    lat.responseStarted();
    assert.equal(lat.firstAudio(1650), 650);
  });
});
