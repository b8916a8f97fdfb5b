/**
 * The zero-copy paths give exactly what the copying ones give: decoding base64 straight into the
 * framer, resampling into views of the WASM heap, and reusing the strict check's decode.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { createConverter } from "../../../app/src/audio/converter.js";
import { Framer, framingRules } from "../../../app/src/audio/framer.js";
import { decodeBase64Transient, isStrictBase64 } from "../../../app/src/audio/pcm16.js";
import { Resampler } from "../../../app/src/audio/resampler.js";

const chunks = fc.array(fc.uint8Array({ maxLength: 9000 }), { minLength: 1, maxLength: 12 });

function drain(f: Framer): Buffer {
  const out: Buffer[] = [];
  for (let x = f.takeFrame(); x; x = f.takeFrame()) out.push(Buffer.from(x));
  const tail = f.takeFinal();
  if (tail) out.push(tail);
  return Buffer.concat(out);
}

describe("zero-copy audio paths", () => {
  it("Framer.pushBase64 equals push(Buffer.from(base64)) for any chunking", () => {
    fc.assert(
      fc.property(chunks, (parts) => {
        const a = new Framer(framingRules(8000, 3200));
        const b = new Framer(framingRules(8000, 3200));
        for (const p of parts) {
          const b64 = Buffer.from(p).toString("base64");
          a.pushBase64(b64);
          b.push(Buffer.from(b64, "base64"));
          assert.equal(a.bufferedBytes, b.bufferedBytes);
        }
        assert.ok(drain(a).equals(drain(b)));
      }),
      { numRuns: 150 },
    );
  });

  it("Resampler.processInto yields the same samples as process, chunk after chunk", () => {
    fc.assert(
      fc.property(
        fc.constantFrom([8000, 16000], [16000, 8000], [44100, 8000]),
        chunks,
        ([from, to], parts) => {
          const a = new Resampler(from as number, to as number, 3);
          const b = new Resampler(from as number, to as number, 3);
          for (const p of parts) {
            const pcm = Buffer.from(p.subarray(0, p.length & ~1));
            const viaViews: Buffer[] = [];
            a.processInto(pcm, (v) => viaViews.push(Buffer.from(v)));
            assert.ok(Buffer.concat(viaViews).equals(b.process(pcm)));
          }
          a.destroy();
          b.destroy();
        },
      ),
      { numRuns: 60 },
    );
  });

  it("convertInto equals convert for every conversion", () => {
    const pairs: Array<[number, string, number, string]> = [
      [8000, "pcm16", 16000, "pcm16"],
      [16000, "pcm16", 8000, "pcm16"],
      [8000, "ulaw", 16000, "pcm16"],
      [8000, "pcm16", 8000, "ulaw"],
      [16000, "pcm16", 8000, "ulaw"],
    ];
    fc.assert(
      fc.property(fc.constantFrom(...pairs), chunks, ([fr, fe, tr, te], parts) => {
        const mk = () =>
          createConverter(
            { encoding: fe as "pcm16", sampleRate: fr },
            { encoding: te as "pcm16", sampleRate: tr },
            3,
          );
        const a = mk();
        const b = mk();
        assert.ok(a && b);
        for (const p of parts) {
          const got: Buffer[] = [];
          a.convertInto(Buffer.from(p), (v) => got.push(Buffer.from(v)));
          assert.ok(Buffer.concat(got).equals(b.convert(Buffer.from(p))));
        }
        a.destroy();
        b.destroy();
      }),
      { numRuns: 60 },
    );
  });

  it("decodeBase64Transient decodes any string like Buffer.from, reusing the strict check's work", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 5000 }), fc.string({ maxLength: 50 }), (bytes, junk) => {
        const b64 = Buffer.from(bytes).toString("base64");
        assert.ok(isStrictBase64(b64));
        assert.ok(decodeBase64Transient(b64).equals(Buffer.from(b64, "base64")));
        assert.ok(decodeBase64Transient(junk).equals(Buffer.from(junk, "base64")));
        // After another decode, the same string must not be served from stale bytes.
        isStrictBase64(Buffer.from([1, 2, 3]).toString("base64"));
        assert.ok(decodeBase64Transient(b64).equals(Buffer.from(b64, "base64")));
      }),
      { numRuns: 300 },
    );
  });
});
