/**
 * The hot-path shortcuts must be invisible: the decoder-based strict base64 check answers exactly
 * as the regex it replaced, and the Exotel media fast path (payload cut out before JSON.parse)
 * gives exactly what parsing the whole frame gives, on well-formed, odd and hostile frames alike.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { isStrictBase64 } from "../../../app/src/audio/pcm16.js";
import type { ExotelParseResult } from "../../../app/src/exotel/messages.js";
import { lenientInt, parseExotelMessage } from "../../../app/src/exotel/parse.js";

const RUNS = 2000;

/** The regex check the decoder-based one replaced: the reference. */
const referenceStrict = (s: string) => (s.length & 3) === 0 && /^[A-Za-z0-9+/]*={0,2}$/.test(s);

const base64ish = fc.oneof(
  fc.base64String({ maxLength: 64 }),
  fc.string({
    unit: fc.constantFrom(..."ABCDabcd0189+/=".split(""), " ", "\n", "!", "-", "_"),
    maxLength: 24,
  }),
  fc
    .tuple(
      fc.base64String({ maxLength: 40 }),
      fc.constantFrom("Ł", "Á", "é", "€", "\u0000", "=", "==", "===", "\\", '"', "\u0141", "\uffff", "😀"),
      fc.nat(40),
    )
    .map(([b, x, i]) => b.slice(0, i) + x + b.slice(i)),
  fc.string({ maxLength: 16 }),
  fc.string({ unit: "binary", maxLength: 16 }),
);

describe("isStrictBase64 (decoder-based)", () => {
  it("agrees with the strict regex on arbitrary and near-base64 strings", () => {
    fc.assert(
      fc.property(base64ish, (s) => {
        // Twice: the second call may hit the one-entry memo and must still agree.
        assert.equal(isStrictBase64(s), referenceStrict(s), JSON.stringify(s));
        assert.equal(isStrictBase64(s), referenceStrict(s), JSON.stringify(s));
      }),
      { numRuns: RUNS },
    );
  });

  it("handles long payloads (scratch growth) and the known aliasing characters", () => {
    const big = Buffer.alloc(300_000, 7).toString("base64");
    assert.equal(isStrictBase64(big), true);
    assert.equal(isStrictBase64(`${big.slice(0, -4)}Ł${big.slice(-3)}`), false);
    assert.equal(isStrictBase64("ŁAAA"), false);
    assert.equal(isStrictBase64("AAAA"), true);
    assert.equal(isStrictBase64("AA=A"), false);
    assert.equal(isStrictBase64("A==="), false);
    assert.equal(isStrictBase64(""), true);
  });
});

describe("lenientInt fast path", () => {
  it("agrees with the leading-integer regex", () => {
    const reference = (v: string) => {
      const m = /^\s*(-?\d{1,15})/.exec(v);
      return m ? Number(m[1]) : undefined;
    };
    const numeric = fc.oneof(
      fc.string({ maxLength: 20 }),
      fc.string({ unit: fc.constantFrom(..."0123456789- \tHz".split("")), maxLength: 20 }),
      fc.bigInt().map(String),
    );
    fc.assert(
      fc.property(numeric, (v) => assert.deepEqual(lenientInt(v), reference(v), JSON.stringify(v))),
      { numRuns: RUNS },
    );
  });
});

/** The same frame with the fast path defeated: `"payload": "` is JSON-equivalent but not matched. */
function slowly(raw: string): ExotelParseResult {
  let s = raw;
  while (s.includes('"payload":"')) s = s.replaceAll('"payload":"', '"payload": "');
  return parseExotelMessage(s);
}

function assertSame(raw: string): void {
  const fast = parseExotelMessage(raw);
  const slow = slowly(raw);
  if (fast.ok && slow.ok) assert.deepEqual(fast.event, slow.event, raw.slice(0, 200));
  else if (!fast.ok && !slow.ok) assert.equal(fast.error.code, slow.error.code, raw.slice(0, 200));
  else assert.fail(`fast ${fast.ok} vs slow ${slow.ok}: ${raw.slice(0, 200)}`);
}

const payloadValue = fc.oneof(
  fc.base64String({ maxLength: 64 }),
  base64ish,
  fc.integer(),
  fc.constant(null),
  fc.constant("\u0000"),
);

const mediaFrame = fc
  .record(
    {
      event: fc.constantFrom("media", "media", "start", "mark", "x"),
      sequence_number: fc.oneof(fc.nat().map(String), fc.nat(), fc.string({ maxLength: 5 })),
      stream_sid: fc.oneof(fc.string({ maxLength: 8 }), fc.constant("MZ1")),
      media: fc.oneof(
        fc.record(
          {
            chunk: fc.oneof(fc.nat().map(String), fc.string({ maxLength: 4 })),
            timestamp: fc.oneof(fc.nat().map(String), fc.nat()),
            track: fc.oneof(fc.constantFrom("inbound", "outbound", "Outbound"), fc.nat()),
            payload: payloadValue,
          },
          { requiredKeys: [] },
        ),
        fc.string({ maxLength: 4 }),
      ),
      extra: fc.oneof(fc.record({ payload: payloadValue }), fc.string({ maxLength: 8 })),
    },
    { requiredKeys: ["event"] },
  )
  .map((o) => JSON.stringify(o));

/** Hand-made frames aimed at the fast path's assumptions. */
const trickyFrame = fc.oneof(
  fc
    .tuple(fc.base64String({ maxLength: 32 }), fc.base64String({ maxLength: 32 }))
    .map(([a, b]) => `{"event":"media","media":{"payload":"${a}","payload":"${b}"}}`),
  fc
    .tuple(fc.base64String({ maxLength: 32 }), fc.base64String({ maxLength: 32 }))
    .map(([a, b]) => `{"event":"media","x":{"payload":"${a}"},"media":{"payload":"${b}"}}`),
  fc
    .tuple(fc.base64String({ maxLength: 32 }), fc.base64String({ maxLength: 32 }))
    .map(([a, b]) => `{"event":"media","k\\"payload":"${a}","media":{"payload":"${b}"}}`),
  fc.base64String({ maxLength: 32 }).map((a) => `{"event":"media","media":{"p\\u0061yload":"${a}"}}`),
  fc.base64String({ maxLength: 32 }).map((a) => `{"event":"media","media":{"payload":"${a}"}`),
  fc.base64String({ maxLength: 32 }).map((a) => `{"event":"media","media":{"payload":"${a}"}} x`),
  fc.base64String({ maxLength: 32 }).map((a) => `{"event":"media","media":{"payload":"${a}\u0001"}}`),
  fc.base64String({ maxLength: 32 }).map((a) => `["media",{"payload":"${a}"}]`),
  fc.base64String({ maxLength: 32 }).map((a) => `{"media":{"payload":"${a}"},"event":"media"}`),
  fc
    .base64String({ maxLength: 32 })
    .map((a) => `{"event":"media","media":{"payload":"${a}"},"media":{"payload":"AAAA"}}`),
  fc.constantFrom(
    '{"event":"media","media":{"payload":""}}',
    '{"event":"media","media":{"payload":"\\u0000"}}',
    '"payload":"AAAA"',
    '{"event":"media","media":{"payload":"AAAA',
    "null",
  ),
);

/** Small corruptions of a valid frame. */
function mutate(s: string, seed: number): string {
  const i = seed % Math.max(1, s.length);
  switch (seed % 5) {
    case 0:
      return s.slice(0, i);
    case 1:
      return s.slice(0, i) + s.slice(i + 1);
    case 2:
      return `${s.slice(0, i)}"${s.slice(i)}`;
    case 3:
      return `${s.slice(0, i)}\\${s.slice(i)}`;
    default:
      return `${s.slice(0, i)}\u0000${s.slice(i)}`;
  }
}

describe("Exotel media fast path", () => {
  it("parses exactly like JSON.parse of the whole frame", () => {
    fc.assert(
      fc.property(fc.oneof(mediaFrame, trickyFrame), fc.nat(), (raw, seed) => {
        assertSame(raw);
        assertSame(mutate(raw, seed));
      }),
      { numRuns: RUNS },
    );
  });

  it("takes real Exotel media frames whole, payload untouched", () => {
    const payload = Buffer.alloc(1600, 3).toString("base64");
    const raw = `{"event":"media","sequence_number":"3","stream_sid":"MZ1","media":{"chunk":"2","timestamp":"200","payload":"${payload}"}}`;
    const r = parseExotelMessage(raw);
    assert.ok(r.ok && r.event.event === "media");
    if (r.event.event === "media") assert.equal(r.event.payload, payload);
    assertSame(raw);
  });

  it("still sees media.track on the fast path, wherever the key sits", () => {
    const payload = Buffer.alloc(1600, 3).toString("base64");
    for (const raw of [
      `{"event":"media","stream_sid":"MZ1","media":{"track":"outbound","chunk":"2","payload":"${payload}"}}`,
      `{"event":"media","stream_sid":"MZ1","media":{"chunk":"2","payload":"${payload}","track":"outbound"}}`,
    ]) {
      const r = parseExotelMessage(raw);
      assert.ok(r.ok && r.event.event === "ignored", raw.slice(0, 80));
      assertSame(raw);
    }
  });
});
