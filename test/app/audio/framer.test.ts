import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Framer, framingRules, isValidFrameSize } from "../../../app/src/audio/framer.js";
import {
  base64DecodedLength,
  int16View,
  isStrictBase64,
  Pcm16Aligner,
} from "../../../app/src/audio/pcm16.js";
import { PlayoutClock } from "../../../app/src/audio/playout-clock.js";

describe("framingRules", () => {
  it("uses 20 ms units, a 3,200-byte floor on the unit grid and a 100 KB ceiling", () => {
    assert.deepEqual(framingRules(8000, 3200), {
      sampleRate: 8000,
      unitBytes: 320,
      minFrameBytes: 3200,
      maxFrameBytes: 99840,
      targetFrameBytes: 3200,
      bytesPerMs: 16,
      silenceByte: 0,
    });
    const r16 = framingRules(16000, 3200);
    assert.equal(r16.unitBytes, 640);
    assert.equal(r16.minFrameBytes, 3200);
    assert.equal(r16.targetFrameBytes, 6400, "CHUNK_SIZE is bytes at 8 kHz: same duration at 16 kHz");
    const r24 = framingRules(24000, 3200);
    assert.equal(r24.unitBytes, 960);
    assert.equal(r24.minFrameBytes, 3840, "3,200 rounded up to the 960-byte grid");
    assert.equal(r24.targetFrameBytes, 9600);
    assert.equal(framingRules(8000, 1_000_000).targetFrameBytes, 99840);
  });

  it("isValidFrameSize applies all three rules", () => {
    const r = framingRules(8000, 3200);
    assert.ok(isValidFrameSize(3200, r));
    assert.ok(!isValidFrameSize(3000, r));
    assert.ok(!isValidFrameSize(3210, r));
    assert.ok(!isValidFrameSize(100_160, r));
  });
});

describe("Framer", () => {
  it("emits target-size frames in order and keeps the remainder", () => {
    const f = new Framer(framingRules(8000, 3200));
    const input = Buffer.alloc(8000);
    for (let i = 0; i < input.length; i++) input[i] = i & 0xff;
    f.push(input.subarray(0, 1000));
    assert.equal(f.takeFrame(), null);
    f.push(input.subarray(1000));
    const a = Buffer.from(f.takeFrame() as Buffer);
    const b = Buffer.from(f.takeFrame() as Buffer);
    assert.equal(f.takeFrame(), null);
    assert.ok(a.equals(input.subarray(0, 3200)));
    assert.ok(b.equals(input.subarray(3200, 6400)));
    assert.equal(f.bufferedBytes, 1600);
  });

  it("pads only the final frame, with silence, onto the grid and up to the minimum", () => {
    const r = framingRules(8000, 3200);
    const f = new Framer(r);
    f.push(Buffer.alloc(100, 7));
    const tail = f.takeFinal() as Buffer;
    assert.equal(tail.length, 3200);
    assert.equal(tail[99], 7);
    assert.equal(tail[100], 0);
    assert.equal(f.takeFinal(), null);
    f.push(Buffer.alloc(3500, 1));
    assert.equal((f.takeFinal() as Buffer).length, 3520);
  });

  it("every frame from any chunking obeys Exotel's rules and the bytes survive", () => {
    for (const rate of [8000, 16000, 24000]) {
      const r = framingRules(rate, 3200);
      const f = new Framer(r);
      const total = 50_000 + rate;
      const input = Buffer.alloc(total);
      for (let i = 0; i < total; i++) input[i] = (i * 7) & 0xff;
      const out: Buffer[] = [];
      let off = 0;
      let k = 1;
      while (off < total) {
        const n = Math.min(total - off, (k++ * 977) % 5000);
        f.push(input.subarray(off, off + n));
        off += n;
        for (let fr = f.takeFrame(); fr; fr = f.takeFrame()) out.push(Buffer.from(fr));
      }
      const tail = f.takeFinal();
      if (tail) out.push(tail);
      for (const fr of out) assert.ok(isValidFrameSize(fr.length, r), `${rate}: ${fr.length}`);
      assert.ok(Buffer.concat(out).subarray(0, total).equals(input));
    }
  });

  it("clear() drops everything", () => {
    const f = new Framer(framingRules(8000, 3200));
    f.push(Buffer.alloc(5000));
    f.clear();
    assert.equal(f.bufferedBytes, 0);
    assert.equal(f.takeFinal(), null);
  });
});

describe("PlayoutClock", () => {
  it("models Exotel's queue at real time", () => {
    const c = new PlayoutClock();
    assert.ok(c.hasRoom(200, 400, 0));
    c.enqueue(200, 0);
    c.enqueue(200, 0);
    assert.equal(c.queuedMs(0), 400);
    assert.ok(!c.hasRoom(200, 400, 100));
    assert.ok(c.hasRoom(200, 400, 200));
    assert.equal(c.queuedMs(500), 0);
    c.enqueue(200, 1000);
    assert.equal(c.queuedMs(1100), 100);
    assert.equal(c.clear(1100), 100);
    assert.equal(c.queuedMs(1100), 0);
    assert.equal(c.heardMs(2000), 500);
  });
});

describe("pcm16 helpers", () => {
  it("Pcm16Aligner carries the odd byte to the next chunk", () => {
    const a = new Pcm16Aligner();
    const src = Buffer.from([1, 2, 3, 4, 5, 6, 7]);
    const out = Buffer.concat([
      a.push(src.subarray(0, 3)),
      a.push(src.subarray(3, 4)),
      a.push(src.subarray(4)),
    ]);
    assert.deepEqual([...out], [1, 2, 3, 4, 5, 6]);
    assert.ok(a.pending);
    a.reset();
    assert.ok(!a.pending);
  });

  it("int16View copies only unaligned buffers", () => {
    const base = Buffer.alloc(9);
    base.writeInt16LE(-2, 1);
    const v = int16View(base.subarray(1, 3));
    assert.equal(v[0], -2);
  });

  it("base64 length and strictness", () => {
    for (const n of [0, 1, 2, 3, 4, 5, 320, 1601]) {
      const b64 = Buffer.alloc(n, 9).toString("base64");
      assert.equal(base64DecodedLength(b64), n);
      assert.ok(isStrictBase64(b64));
    }
    assert.ok(!isStrictBase64("AAA"));
    assert.ok(!isStrictBase64("AA!A"));
    assert.ok(!isStrictBase64("A==A"));
  });
});
