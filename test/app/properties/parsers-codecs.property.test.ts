/**
 * Property-based tests (fast-check) for everything a hostile peer can reach without a socket:
 * the two protocol parsers, the framer and the codecs. They must never throw, always return a
 * typed result, and keep PCM16 sample alignment whatever the chunking.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { alawToPcm16, pcm16ToAlaw } from "../../../app/src/audio/alaw.js";
import { createConverter } from "../../../app/src/audio/converter.js";
import { EXOTEL_ULAW_FORMAT, exotelFormat } from "../../../app/src/audio/formats.js";
import { Framer, framingRules, isValidFrameSize } from "../../../app/src/audio/framer.js";
import { pcm16ToUlaw, ulawToPcm16 } from "../../../app/src/audio/mulaw.js";
import { base64DecodedLength, isStrictBase64, Pcm16Aligner } from "../../../app/src/audio/pcm16.js";
import { parseAgentMessage } from "../../../app/src/elevenlabs/parse.js";
import { parseExotelMessage } from "../../../app/src/exotel/parse.js";

const RUNS = 500;

/** JSON-ish values shaped like protocol messages, with hostile keys and wrong types mixed in. */
const hostileValue = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small" },
    fc.string(),
    fc.integer(),
    fc.double(),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie("value"), { maxLength: 4 }),
    fc.dictionary(
      fc.oneof(
        fc.string(),
        fc.constantFrom(
          "__proto__",
          "constructor",
          "prototype",
          "event",
          "type",
          "media",
          "payload",
          "start",
        ),
      ),
      tie("value"),
      { maxKeys: 5 },
    ),
  ),
})).value;

const exotelLike = fc.record(
  {
    event: fc.oneof(
      fc.constantFrom("connected", "start", "media", "dtmf", "mark", "stop", "clear", "silence"),
      fc.string(),
    ),
    stream_sid: fc.oneof(fc.string(), fc.integer(), fc.string({ minLength: 120, maxLength: 140 })),
    digit: fc.oneof(fc.string({ maxLength: 2 }), fc.integer()),
    track: fc.oneof(fc.constantFrom("inbound", "outbound"), hostileValue),
    custom_parameters: fc.oneof(hostileValue, fc.string()),
    sequence_number: fc.oneof(fc.string(), fc.integer(), fc.double()),
    start: hostileValue,
    media: fc.oneof(
      hostileValue,
      fc.record(
        {
          payload: fc.oneof(fc.base64String(), fc.string(), fc.integer()),
          track: fc.oneof(fc.constantFrom("inbound", "outbound", "OUTBOUND"), hostileValue),
        },
        { requiredKeys: ["payload"] },
      ),
    ),
    dtmf: fc.oneof(hostileValue, fc.record({ digit: fc.oneof(fc.string(), fc.integer()) })),
    mark: hostileValue,
    stop: hostileValue,
  },
  { requiredKeys: [] },
);

const agentLike = fc.record(
  {
    type: fc.oneof(
      fc.constantFrom(
        "audio",
        "ping",
        "interruption",
        "conversation_initiation_metadata",
        "agent_response",
        "user_transcript",
        "client_tool_call",
        "agent_tool_response",
        "error",
        "vad_score",
        "mcp_tool_call",
        "mcp_connection_status",
        "agent_chat_response_part",
      ),
      fc.string(),
    ),
    mcp_tool_call: fc.oneof(
      hostileValue,
      fc.record({
        tool_call_id: fc.oneof(fc.string(), hostileValue),
        state: fc.oneof(fc.constantFrom("loading", "awaiting_approval", "success", "failure"), hostileValue),
        approval_timeout_secs: hostileValue,
      }),
    ),
    audio_event: fc.oneof(
      hostileValue,
      fc.record({ audio_base_64: fc.oneof(fc.base64String(), fc.integer()), event_id: hostileValue }),
    ),
    ping_event: hostileValue,
    interruption_event: hostileValue,
    conversation_initiation_metadata_event: hostileValue,
    client_tool_call: hostileValue,
    error_event: hostileValue,
    message: hostileValue,
  },
  { requiredKeys: [] },
);

function mutate(s: string, seed: number): string {
  const i = seed % Math.max(1, s.length);
  switch (seed % 4) {
    case 0:
      return s.slice(0, i);
    case 1:
      return s.slice(0, i) + s.slice(i + 1);
    case 2:
      return `${s.slice(0, i)}"${s.slice(i)}`;
    default:
      return `${s.slice(0, i)}\u0000{${s.slice(i)}`;
  }
}

describe("parsers never throw and always return a typed result", () => {
  it("parseExotelMessage: arbitrary strings", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (raw) => {
        const r = parseExotelMessage(raw);
        assert.equal(typeof r.ok, "boolean");
        if (!r.ok) assert.equal(typeof r.error.code, "string");
      }),
      { numRuns: RUNS },
    );
  });

  it("parseExotelMessage: protocol-shaped hostile objects and mutations of them", () => {
    fc.assert(
      fc.property(exotelLike, fc.nat(), (msg, seed) => {
        const json = JSON.stringify(msg);
        for (const raw of [json, mutate(json, seed)]) {
          const r = parseExotelMessage(raw);
          if (r.ok) {
            assert.equal(typeof r.event.event, "string");
            if (r.event.event === "media") assert.equal(typeof r.event.payload, "string");
            if (r.event.event === "start") {
              assert.equal(Object.getPrototypeOf(r.event.start.customParameters), null);
              for (const v of Object.values(r.event.start.customParameters)) assert.equal(typeof v, "string");
            }
            if (r.event.event === "dtmf") assert.match(r.event.digit, /^[0-9*#A-D]$/);
          } else {
            assert.ok(r.error.detail.length < 200, "error detail must not echo the frame");
          }
        }
        assert.equal(({} as Record<string, unknown>).polluted, undefined);
      }),
      { numRuns: RUNS },
    );
  });

  it("parseAgentMessage: arbitrary strings, hostile objects and mutations", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), agentLike, fc.nat(), (raw, msg, seed) => {
        const json = JSON.stringify(msg);
        for (const input of [raw, json, mutate(json, seed)]) {
          const r = parseAgentMessage(input);
          if (r.ok) {
            const e = r.event;
            if (e.type === "audio") {
              assert.equal(typeof e.audioBase64, "string");
              assert.ok(Number.isFinite(e.eventId));
            }
            if (e.type === "ping" || e.type === "interruption") assert.ok(Number.isFinite(e.eventId));
            if (e.type === "error") assert.equal(typeof e.message, "string");
          } else {
            assert.equal(typeof r.error.code, "string");
          }
        }
      }),
      { numRuns: RUNS },
    );
  });
});

describe("audio path properties", () => {
  const chunking = fc.array(fc.integer({ min: 0, max: 4000 }), { minLength: 1, maxLength: 40 });

  it("the framer emits only rule-abiding frames and loses no byte, for any chunking and rate", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(exotelFormat(8000), exotelFormat(16000), exotelFormat(24000), EXOTEL_ULAW_FORMAT),
        fc.constantFrom(3200, 6400, 9600),
        chunking,
        (format, chunk, sizes) => {
          const rate = format.sampleRate;
          const rules = framingRules(format, chunk);
          const framer = new Framer(rules);
          const total = sizes.reduce((a, b) => a + b, 0);
          const input = Buffer.alloc(total);
          for (let i = 0; i < total; i++) input[i] = (i * 31 + 7) & 0xff;
          const out: Buffer[] = [];
          let off = 0;
          for (const n of sizes) {
            framer.push(input.subarray(off, off + n));
            off += n;
            for (let f = framer.takeFrame(); f; f = framer.takeFrame()) out.push(Buffer.from(f));
          }
          const tail = framer.takeFinal();
          if (tail) out.push(tail);
          for (const f of out)
            assert.ok(isValidFrameSize(f.length, rules), `bad frame ${f.length} at ${rate}`);
          const joined = Buffer.concat(out);
          assert.ok(joined.subarray(0, total).equals(input));
          assert.ok(
            joined.subarray(total).every((b) => b === rules.silenceByte),
            "padding must be silence",
          );
        },
      ),
      { numRuns: 200 },
    );
  });

  it("Pcm16Aligner: any split of a byte stream yields the same whole samples", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 501 }), chunking, (bytes, cuts) => {
        const src = Buffer.from(bytes);
        const a = new Pcm16Aligner();
        const parts: Buffer[] = [];
        let off = 0;
        for (const c of cuts) {
          const n = c % 97;
          parts.push(Buffer.from(a.push(src.subarray(off, off + n))));
          off += n;
          if (off >= src.length) break;
        }
        if (off < src.length) parts.push(Buffer.from(a.push(src.subarray(off))));
        const out = Buffer.concat(parts);
        assert.equal(out.length, src.length & ~1);
        assert.ok(out.equals(src.subarray(0, out.length)));
      }),
      { numRuns: RUNS },
    );
  });

  it("converters keep alignment: odd-length chunks give the same output as whole ones", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(
          [8000, 16000],
          [16000, 8000],
          [24000, 8000],
          [8000, 24000],
          [44100, 16000],
        ) as fc.Arbitrary<[number, number]>,
        chunking,
        ([from, to], cuts) => {
          const input = Buffer.alloc(4000);
          for (let i = 0; i < 2000; i++) input.writeInt16LE(Math.round(8000 * Math.sin(i / 5)), i * 2);
          const a = createConverter(
            { encoding: "pcm16", sampleRate: from },
            { encoding: "pcm16", sampleRate: to },
            3,
          );
          const b = createConverter(
            { encoding: "pcm16", sampleRate: from },
            { encoding: "pcm16", sampleRate: to },
            3,
          );
          assert.ok(a && b);
          const parts: Buffer[] = [];
          let off = 0;
          for (const c of cuts) {
            const n = (c % 301) | 1;
            parts.push(a.convert(input.subarray(off, off + n)));
            off += n;
            if (off >= input.length) break;
          }
          if (off < input.length) parts.push(a.convert(input.subarray(off)));
          const whole = b.convert(input);
          a.destroy();
          b.destroy();
          assert.ok(Buffer.concat(parts).equals(whole));
        },
      ),
      { numRuns: 100 },
    );
  });

  it("mu-law: decode never throws and encode(decode(x)) is the identity on codes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), (codes) => {
        const pcm = ulawToPcm16(Buffer.from(codes));
        assert.equal(pcm.length, codes.length * 2);
        const back = pcm16ToUlaw(pcm);
        for (let i = 0; i < codes.length; i++) {
          // 0x7f and 0xff both decode to 0; every other code round-trips exactly.
          const c = codes[i] as number;
          if (c !== 0x7f) assert.equal(back[i], c);
        }
      }),
      { numRuns: RUNS },
    );
  });

  it("A-law: decode never throws and encode(decode(x)) is the identity on codes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), (codes) => {
        const pcm = alawToPcm16(Buffer.from(codes));
        assert.equal(pcm.length, codes.length * 2);
        assert.ok(pcm16ToAlaw(pcm).equals(Buffer.from(codes)));
      }),
      { numRuns: RUNS },
    );
  });

  it("base64 helpers agree with Buffer for canonical base64 and reject non-canonical text", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.string({ maxLength: 40 }), (bytes, junk) => {
        const b64 = Buffer.from(bytes).toString("base64");
        assert.ok(isStrictBase64(b64));
        assert.equal(base64DecodedLength(b64), bytes.length);
        if (!/^[A-Za-z0-9+/]*={0,2}$/.test(junk) || junk.length % 4 !== 0) assert.ok(!isStrictBase64(junk));
      }),
      { numRuns: RUNS },
    );
  });
});
