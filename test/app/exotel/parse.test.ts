import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { clearFrame, encodeStreamSid, markFrame, mediaFrame } from "../../../app/src/exotel/frames.js";
import type { ExotelEvent } from "../../../app/src/exotel/messages.js";
import { lenientInt, parseExotelMessage } from "../../../app/src/exotel/parse.js";

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
    assert.deepEqual(ok({ event: "connected", protocol: "Call", version: "1.0.0" }), { event: "connected" });
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
});
