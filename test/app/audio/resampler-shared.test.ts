/**
 * Resamplers share their WASM scratch buffers (audio/resampler.ts): interleaving many of them, at
 * different ratios and with chunks larger than one slice, must give each exactly what it gives alone.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Resampler } from "../../../app/src/audio/resampler.js";
import { tone } from "../../support/dsp.js";

function alone(from: number, to: number, input: Buffer, chunk: number): Buffer {
  const r = new Resampler(from, to, 5);
  const parts: Buffer[] = [];
  for (let i = 0; i < input.length; i += chunk) parts.push(r.process(input.subarray(i, i + chunk)));
  r.destroy();
  return Buffer.concat(parts);
}

describe("Resampler scratch buffers shared across instances", () => {
  it("interleaved resamplers at different ratios equal each one run alone", () => {
    const cases = [
      { from: 8000, to: 16000, chunk: 1600 },
      { from: 16000, to: 8000, chunk: 8000 },
      { from: 8000, to: 48000, chunk: 1600 },
      { from: 44100, to: 8000, chunk: 20_000 }, // more than one 4096-sample slice per chunk
    ];
    const inputs = cases.map((c, i) => tone(300 + 100 * i, c.from, 700));
    const expected = cases.map((c, i) => alone(c.from, c.to, inputs[i] as Buffer, c.chunk));
    const rs = cases.map((c) => new Resampler(c.from, c.to, 5));
    const parts: Buffer[][] = cases.map(() => []);
    for (let step = 0; ; step++) {
      let any = false;
      cases.forEach((c, i) => {
        const input = inputs[i] as Buffer;
        const at = step * c.chunk;
        if (at >= input.length) return;
        any = true;
        (parts[i] as Buffer[]).push((rs[i] as Resampler).process(input.subarray(at, at + c.chunk)));
      });
      if (!any) break;
    }
    for (const r of rs) r.destroy();
    cases.forEach((c, i) => {
      assert.ok(Buffer.concat(parts[i] as Buffer[]).equals(expected[i] as Buffer), `${c.from} -> ${c.to}`);
    });
  });
});
