import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { EXOTEL_ULAW_FORMAT, exotelFormat } from "../../../app/src/audio/formats.js";
import {
  clearFrame,
  encodeStreamSid,
  markFrame,
  mediaFrame,
  OutboundSequencer,
} from "../../../app/src/exotel/frames.js";
import type { ExotelEvent, ExotelMediaFormat } from "../../../app/src/exotel/messages.js";
import {
  identifierProblem,
  lenientInt,
  parseExotelMessage,
  parseStreamEncoding,
  sanitizeParameters,
} from "../../../app/src/exotel/parse.js";
import { resolveStreamFormat } from "../../../app/src/exotel/stream-format.js";

function ok(raw: unknown): ExotelEvent {
  const r = parseExotelMessage(typeof raw === "string" ? raw : JSON.stringify(raw));
  assert.ok(r.ok, `expected ok, got ${JSON.stringify(r)}`);
  return r.event;
}

function err(raw: string): string {
  const r = parseExotelMessage(raw);
  assert.ok(!r.ok);
  return r.error.code;
}

function refusal(raw: unknown): { code: string; detail: string } {
  const r = parseExotelMessage(typeof raw === "string" ? raw : JSON.stringify(raw));
  assert.ok(!r.ok, `expected a refusal, got ${JSON.stringify(r).slice(0, 200)}`);
  return r.error;
}

function start(fields: Record<string, unknown>, top: Record<string, unknown> = {}): unknown {
  return { event: "start", stream_sid: "MZ1", ...top, start: { stream_sid: "MZ1", ...fields } };
}

describe("parseExotelMessage", () => {
  it("parses the documented start event (snake_case, numbers as strings)", () => {
    const e = ok({
      event: "start",
      sequence_number: "1",
      stream_sid: "MZ123",
      start: {
        stream_sid: "MZ123",
        call_sid: "CA456",
        account_sid: "AC789",
        from: "+919876543210",
        to: "+918047491899",
        custom_parameters: { lang: "hi" },
        media_format: { encoding: "audio/x-raw", sample_rate: "8000", bit_rate: "16" },
      },
    });
    assert.equal(e.event, "start");
    if (e.event !== "start") return;
    assert.equal(e.sequence, 1);
    assert.equal(e.start.callSid, "CA456");
    assert.equal(e.start.from, "+919876543210");
    assert.deepEqual({ ...e.start.customParameters }, { lang: "hi" });
    assert.equal(e.start.mediaFormat.sampleRate, 8000);
    assert.equal(e.start.mediaFormat.bitRate, "16");
  });

  it("accepts camelCase, numbers as numbers and '8000Hz'", () => {
    const e = ok({
      event: "start",
      sequenceNumber: 1,
      streamSid: "MZ1",
      start: {
        streamSid: "MZ1",
        callSid: "CA1",
        customParameters: { a: 1 },
        mediaFormat: { sampleRate: "16000Hz" },
      },
    });
    assert.ok(e.event === "start");
    if (e.event !== "start") return;
    assert.equal(e.start.callSid, "CA1");
    assert.equal(e.start.mediaFormat.sampleRate, 16000);
    assert.deepEqual({ ...e.start.customParameters }, { a: "1" });
    assert.equal(e.start.from, "");
  });

  it("takes stream_sid from the top level when start.stream_sid is missing", () => {
    const e = ok({ event: "start", stream_sid: "MZ9", start: { call_sid: "CA" } });
    assert.ok(e.event === "start" && e.start.streamSid === "MZ9");
  });

  it("drops prototype keys and bad names from custom parameters", () => {
    const e = ok(
      '{"event":"start","stream_sid":"s","start":{"custom_parameters":{"__proto__":{"x":1},"constructor":"c","ok_name":"v","bad name":"v","n":{"o":1}}}}',
    );
    assert.ok(e.event === "start");
    if (e.event !== "start") return;
    assert.deepEqual(Object.keys(e.start.customParameters), ["ok_name"]);
    assert.equal(Object.getPrototypeOf(e.start.customParameters), null);
    assert.equal(({} as Record<string, unknown>).x, undefined);
  });

  it("parses media, keeping the payload as base64", () => {
    const e = ok({
      event: "media",
      sequence_number: "3",
      stream_sid: "MZ123",
      media: { chunk: "2", timestamp: "200", payload: "AAAA" },
    });
    assert.deepEqual(e, {
      event: "media",
      sequence: 3,
      streamSid: "MZ123",
      chunk: 2,
      timestamp: 200,
      payload: "AAAA",
    });
  });

  it("parses dtmf, mark, stop (stream_sid may be missing), connected", () => {
    assert.deepEqual(ok({ event: "dtmf", stream_sid: "s", dtmf: { digit: "5", duration: "100" } }), {
      event: "dtmf",
      streamSid: "s",
      digit: "5",
      durationMs: 100,
    });
    assert.deepEqual(ok({ event: "dtmf", dtmf: { digit: 7 } }), { event: "dtmf", digit: "7" });
    assert.deepEqual(ok({ event: "mark", mark: { name: "a12" } }), { event: "mark", name: "a12" });
    assert.deepEqual(ok({ event: "stop", stop: { call_sid: "CA", reason: "callended" } }), {
      event: "stop",
      callSid: "CA",
      reason: "callended",
    });
    assert.deepEqual(ok({ event: "stop" }), { event: "stop" });
    const connected = ok({ event: "connected", protocol: "Call", version: "1.0.0" });
    assert.ok(connected.event === "connected");
    assert.deepEqual({ ...connected.customParameters }, {});
  });

  it("maps unknown events to `unknown` instead of failing", () => {
    assert.deepEqual(ok({ event: "future_thing", x: 1 }), { event: "unknown", name: "future_thing" });
  });

  it("returns typed errors for malformed frames", () => {
    assert.equal(err("{not json"), "invalid_json");
    assert.equal(err("[1,2]"), "not_an_object");
    assert.equal(err("null"), "not_an_object");
    assert.equal(err('{"no":"event"}'), "missing_event");
    assert.equal(err('{"event":"media"}'), "missing_field");
    assert.equal(err('{"event":"media","media":{"payload":5}}'), "invalid_field");
    assert.equal(err('{"event":"dtmf","dtmf":{"digit":"55"}}'), "invalid_field");
    assert.equal(err('{"event":"mark","mark":{}}'), "missing_field");
    assert.equal(err('{"event":"start","start":{}}'), "missing_field");
  });

  it("reads the flat dtmf shape as well as the nested one", () => {
    assert.deepEqual(ok({ event: "dtmf", digit: "5" }), { event: "dtmf", digit: "5" });
    assert.deepEqual(ok({ event: "dtmf", stream_sid: "s", digit: "#", duration: "80" }), {
      event: "dtmf",
      streamSid: "s",
      digit: "#",
      durationMs: 80,
    });
    assert.equal(err('{"event":"dtmf","digit":"55"}'), "invalid_field");
    assert.equal(err('{"event":"dtmf"}'), "missing_field");
  });

  it("ignores the bot's own audio on a both-track stream, and only that", () => {
    const payload = "AAAA";
    for (const track of ["outbound", "OUTBOUND", "outbound_track"]) {
      const e = ok(`{"event":"media","stream_sid":"s","media":{"track":"${track}","payload":"${payload}"}}`);
      assert.deepEqual(e, { event: "ignored", name: "media", reason: "outbound_track" });
    }
    const top = ok(`{"event":"media","track":"outbound","media":{"payload":"${payload}"}}`);
    assert.equal(top.event, "ignored");
    const inbound = ok(`{"event":"media","media":{"track":"inbound","chunk":"1","payload":"${payload}"}}`);
    assert.deepEqual(inbound, { event: "media", chunk: 1, payload });
    // The same frozen object every time: nothing allocated per ignored frame.
    const a = ok(`{"event":"media","media":{"track":"outbound","payload":"${payload}"}}`);
    const b = ok(`{"event":"media","media":{"track":"outbound","payload":"${payload}"}}`);
    assert.equal(a, b);
    assert.ok(Object.isFrozen(a));
  });

  it("accepts silence events quietly", () => {
    assert.deepEqual(ok({ event: "silence", sequence_number: "9", stream_sid: "s" }), {
      event: "silence",
      sequence: 9,
      streamSid: "s",
    });
  });

  it("reads custom parameters from connected, as an object or as key=value text", () => {
    const a = ok({ event: "connected", custom_parameters: { sessionId: "abc123" } });
    assert.ok(a.event === "connected");
    assert.deepEqual({ ...a.customParameters }, { sessionId: "abc123" });
    const b = ok({ event: "connected", customParameters: "sessionId=abc123, agentId = agent_007,junk" });
    assert.ok(b.event === "connected");
    assert.deepEqual({ ...b.customParameters }, { sessionId: "abc123", agentId: "agent_007" });
    const c = ok({ event: "connected", connected: { custom_parameters: { t: 1 } } });
    assert.ok(c.event === "connected");
    assert.deepEqual({ ...c.customParameters }, { t: "1" });
    assert.equal(Object.getPrototypeOf(c.customParameters), null);
  });
});

describe("Exotel media formats", () => {
  function format(mediaFormat: unknown) {
    const e = ok(start({ media_format: mediaFormat }));
    assert.ok(e.event === "start");
    return e.event === "start" ? e.start.mediaFormat : undefined;
  }

  it("assumes PCM16 when the encoding is absent, and says so", () => {
    assert.deepEqual(format(undefined), { streamEncoding: "pcm16", encodingAssumed: true });
    assert.deepEqual(format({ sample_rate: "16000" }), {
      sampleRate: 16000,
      streamEncoding: "pcm16",
      encodingAssumed: true,
    });
  });

  it("reads every documented PCM spelling as PCM16", () => {
    for (const encoding of ["raw", "audio/x-raw", "base64", "slin", "audio/L16;rate=16000", "LINEAR16"]) {
      const f = format({ encoding });
      assert.equal(f?.streamEncoding, "pcm16", encoding);
      assert.equal(f?.encodingAssumed, false);
    }
    assert.equal(format({ encoding: "audio/L16;rate=16000" })?.sampleRate, 16000, "rate from the type");
    assert.equal(
      format({ encoding: "audio/L16;rate=16000", sample_rate: 8000 })?.sampleRate,
      8000,
      "sample_rate wins over the type's rate parameter",
    );
  });

  it("reads mu-law (the Legs API and ExoML default) with or without its rate", () => {
    assert.deepEqual(format({ encoding: "audio/x-mulaw;rate=8000", sample_rate: "8000", bit_rate: "64" }), {
      encoding: "audio/x-mulaw;rate=8000",
      sampleRate: 8000,
      bitRate: "64",
      streamEncoding: "ulaw",
      encodingAssumed: false,
    });
    for (const encoding of ["mulaw", "ULAW", "audio/PCMU", "g711_ulaw", " audio/x-mulaw ; rate = 8000 "])
      assert.equal(format({ encoding })?.streamEncoding, "ulaw", encoding);
  });

  it("refuses an encoding the bridge cannot carry, with a reason and no raw value", () => {
    const a = refusal(start({ media_format: { encoding: "audio/x-alaw;rate=8000" } }));
    assert.equal(a.code, "unsupported_encoding");
    assert.match(a.detail, /neither PCM16 nor mu-law/);
    assert.match(a.detail, /audio\/x-alaw/);
    const b = refusal(start({ media_format: { encoding: "audio/x-mulaw", sample_rate: 16000 } }));
    assert.equal(b.code, "unsupported_encoding");
    assert.match(b.detail, /mu-law at 16000 Hz/);
    const c = refusal(start({ media_format: { encoding: "x".repeat(10_000) } }));
    assert.equal(c.code, "unsupported_encoding");
    assert.ok(c.detail.length < 100, "the detail never carries the value");
    const d = refusal(start({ media_format: { encoding: 'opus"\n<script>' } }));
    assert.ok(!d.detail.includes("<") && !d.detail.includes("\n"), d.detail);
  });

  it("parseStreamEncoding maps spellings and rates", () => {
    assert.deepEqual(parseStreamEncoding("audio/x-mulaw;rate=8000"), { encoding: "ulaw", rate: 8000 });
    assert.deepEqual(parseStreamEncoding("raw"), { encoding: "pcm16" });
    assert.equal(parseStreamEncoding("audio/x-alaw"), undefined);
    assert.equal(parseStreamEncoding(""), undefined);
  });
});

describe("Exotel identifier bounds", () => {
  it("refuses a 150 KB call_sid without quoting it", () => {
    const e = refusal(start({ call_sid: "C".repeat(150_000) }));
    assert.equal(e.code, "invalid_field");
    assert.equal(e.detail, "start.call_sid: 150000 characters, at most 128");
  });

  it("bounds every sid and number of the start event", () => {
    for (const [field, value] of [
      ["stream_sid", "M".repeat(129)],
      ["call_sid", "CA 1"],
      ["account_sid", "AC\u0000"],
      ["from", "9".repeat(65)],
      ["to", "+91<98>"],
    ] as const) {
      const e = refusal(start({ [field]: value }));
      assert.equal(e.code, "invalid_field", field);
      assert.ok(e.detail.startsWith(`start.${field}: `), e.detail);
      assert.ok(e.detail.length < 80);
    }
    const fine = ok(
      start({
        call_sid: "a".repeat(128),
        account_sid: "exotel-ac_1.2:3",
        from: "+91 98765 43210",
        to: "sip:bot@example.com",
      }),
    );
    assert.equal(fine.event, "start");
    assert.equal(ok(start({ from: "anonymous" })).event, "start");
  });

  it("refuses an over-long stream_sid on any frame, media included", () => {
    const long = "S".repeat(5000);
    assert.equal(
      refusal({ event: "media", stream_sid: long, media: { payload: "AAAA" } }).code,
      "invalid_field",
    );
    assert.equal(refusal({ event: "mark", stream_sid: long, mark: { name: "x" } }).code, "invalid_field");
    assert.equal(refusal({ event: "mark", mark: { name: "n".repeat(257) } }).code, "invalid_field");
  });

  it("drops unacceptable ids from stop instead of refusing it: the call ends either way", () => {
    assert.deepEqual(ok({ event: "stop", stop: { call_sid: "C".repeat(9999), reason: "callended" } }), {
      event: "stop",
      reason: "callended",
    });
  });

  it("bounds custom parameters: count, name, value length and control characters", () => {
    const many: Record<string, string> = {};
    for (let i = 0; i < 40; i++) many[`k${i}`] = "v";
    assert.equal(Object.keys(sanitizeParameters(many)).length, 16);
    const p = sanitizeParameters({ long: "x".repeat(5000), ctl: "a\u0007b", nl: "a\nb", ok: "नमस्ते" });
    assert.equal(p.long?.length, 512);
    assert.equal(p.ctl, undefined);
    assert.equal(p.nl, undefined);
    assert.equal(p.ok, "नमस्ते");
    assert.equal(Object.keys(sanitizeParameters(`${"a=b,".repeat(100_000)}`)).length, 1);
  });

  it("identifierProblem never echoes the value", () => {
    assert.equal(identifierProblem("sid", "abc"), undefined);
    assert.equal(identifierProblem("sid", "a b"), "characters outside the allowed set");
    assert.equal(identifierProblem("number", "+919876543210"), undefined);
  });

  it("lenientInt reads leading integers only", () => {
    assert.equal(lenientInt("8000Hz"), 8000);
    assert.equal(lenientInt(" 16 "), 16);
    assert.equal(lenientInt(8000.7), 8000);
    assert.equal(lenientInt("Hz8000"), undefined);
    assert.equal(lenientInt(Number.NaN), undefined);
    assert.equal(lenientInt({}), undefined);
  });
});

describe("Exotel frame builders", () => {
  it("write the exact documented shapes with snake_case stream_sid", () => {
    const sid = encodeStreamSid('MZ"1');
    assert.deepEqual(JSON.parse(mediaFrame(sid, "AAAA")), {
      event: "media",
      stream_sid: 'MZ"1',
      media: { payload: "AAAA" },
    });
    assert.deepEqual(JSON.parse(markFrame(sid, "r1-2")), {
      event: "mark",
      stream_sid: 'MZ"1',
      mark: { name: "r1-2" },
    });
    assert.deepEqual(JSON.parse(clearFrame(sid)), { event: "clear", stream_sid: 'MZ"1' });
  });

  it("carry sequence_number, chunk and timestamp as strings when given", () => {
    const sid = encodeStreamSid("MZ1");
    assert.deepEqual(JSON.parse(mediaFrame(sid, "AAAA", 12, 9, 1600)), {
      event: "media",
      sequence_number: "12",
      stream_sid: "MZ1",
      media: { chunk: "9", timestamp: "1600", payload: "AAAA" },
    });
    assert.deepEqual(JSON.parse(markFrame(sid, "m", 13)), {
      event: "mark",
      sequence_number: "13",
      stream_sid: "MZ1",
      mark: { name: "m" },
    });
    assert.deepEqual(JSON.parse(clearFrame(sid, 14)), {
      event: "clear",
      sequence_number: "14",
      stream_sid: "MZ1",
    });
  });
});

describe("OutboundSequencer", () => {
  it("numbers every frame of a stream and times its audio", () => {
    const out = new OutboundSequencer("MZ1", exotelFormat(8000));
    const frames = [
      out.media("AAAA", 3200),
      out.mark("r1"),
      out.media("AAAA", 3200),
      out.clear(),
      out.media("AAAA", 6400),
      out.media("AAAA", 320),
    ].map((f) => JSON.parse(f));
    assert.deepEqual(
      frames.map((f) => f.sequence_number),
      ["1", "2", "3", "4", "5", "6"],
    );
    const media = frames.filter((f) => f.event === "media");
    assert.deepEqual(
      media.map((f) => [f.media.chunk, f.media.timestamp]),
      [
        ["1", "0"],
        ["2", "200"],
        ["3", "400"],
        ["4", "800"],
      ],
    );
    assert.ok(frames.every((f) => f.stream_sid === "MZ1"));
    assert.equal(out.framesSent, 6);
    assert.equal(out.mediaFramesSent, 4);
    assert.equal(out.audioMs, 820);
  });

  it("counts mu-law audio at one byte a sample and wideband at its own rate", () => {
    const ulaw = new OutboundSequencer("s", EXOTEL_ULAW_FORMAT);
    ulaw.media("AAAA", 3200);
    assert.equal(ulaw.audioMs, 400);
    const wide = new OutboundSequencer("s", exotelFormat(24000));
    wide.media("AAAA", 9600);
    assert.equal(wide.audioMs, 200);
  });

  it("never lets the timestamp drift on sizes that are not whole milliseconds", () => {
    const out = new OutboundSequencer("s", exotelFormat(8000));
    let last = -1;
    for (let i = 0; i < 1000; i++) {
      const t = Number(JSON.parse(out.media("AAAA", 17)).media.timestamp);
      assert.ok(t >= last);
      last = t;
    }
    assert.equal(out.audioMs, Math.floor((17 * 1000 * 1000) / 16000));
  });
});

describe("resolveStreamFormat", () => {
  const pcm = (sampleRate?: number, encodingAssumed = false): ExotelMediaFormat => ({
    ...(sampleRate !== undefined && { sampleRate }),
    streamEncoding: "pcm16",
    encodingAssumed,
  });

  it("lets the URL's sample-rate win for PCM16, noting a disagreement", () => {
    assert.deepEqual(resolveStreamFormat(pcm(8000), 16000), {
      format: exotelFormat(16000),
      notes: [{ kind: "sample_rate_mismatch", url: 16000, reported: 8000 }],
    });
    assert.deepEqual(resolveStreamFormat(pcm(24000), undefined), { format: exotelFormat(24000), notes: [] });
    assert.deepEqual(resolveStreamFormat(pcm(11025), undefined), {
      format: exotelFormat(8000),
      notes: [{ kind: "sample_rate_invalid", reported: 11025 }],
    });
    assert.deepEqual(resolveStreamFormat(pcm(undefined, true), undefined), {
      format: exotelFormat(8000),
      notes: [{ kind: "encoding_assumed" }],
    });
  });

  it("keeps a mu-law stream at 8 kHz whatever the URL asked for", () => {
    const ulaw: ExotelMediaFormat = { streamEncoding: "ulaw", encodingAssumed: false, sampleRate: 8000 };
    assert.deepEqual(resolveStreamFormat(ulaw, undefined), { format: EXOTEL_ULAW_FORMAT, notes: [] });
    assert.deepEqual(resolveStreamFormat(ulaw, 16000), {
      format: EXOTEL_ULAW_FORMAT,
      notes: [{ kind: "url_rate_ignored", url: 16000 }],
    });
  });

  it("resolves a parsed mu-law start end to end", () => {
    const e = ok(start({ media_format: { encoding: "audio/x-mulaw;rate=8000" } }));
    assert.ok(e.event === "start");
    if (e.event !== "start") return;
    assert.equal(resolveStreamFormat(e.start.mediaFormat, undefined).format, EXOTEL_ULAW_FORMAT);
  });
});
