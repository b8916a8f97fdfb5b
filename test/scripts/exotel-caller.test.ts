/**
 * The simulated Exotel caller against tiny fake bridges written here (plain `ws` servers, not the
 * bridge): what it sends (exactly Exotel's frames, real-time pace, DTMF, stop), how it plays what
 * it receives (queue on a simulated clock, clear, mark echoes, pacing measure), the frame-rule
 * checks, refusals, and the time alignment of the stereo recording.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import type { IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { type WebSocket, WebSocketServer } from "ws";
import { silence, tone, toneAmplitude } from "../../scripts/lib/audio.js";
import { placeCall, saveCall } from "../../scripts/lib/exotel-caller.js";
import { readWav, splitStereo } from "../../scripts/lib/wav.js";

interface Got {
  readonly at: number;
  readonly msg: Record<string, unknown>;
}

/** A fake bridge: records the upgrade and every frame (ms after `start` arrived); `onStart` scripts replies. */
async function fakeBridge(
  onStart: (ws: WebSocket, sid: string, got: Got[]) => void = () => {},
  options: { refuse?: number; onMedia?: (ws: WebSocket, sid: string, payload: string) => void } = {},
) {
  const state: { req?: IncomingMessage; got: Got[]; t0: number } = { got: [], t0: 0 };
  const wss = new WebSocketServer({
    port: 0,
    host: "127.0.0.1",
    ...(options.refuse !== undefined && {
      verifyClient: (_info: unknown, done: (ok: boolean, code?: number) => void) =>
        done(false, options.refuse),
    }),
  });
  await new Promise((r) => wss.once("listening", r));
  wss.on("connection", (ws, req) => {
    state.req = req;
    ws.on("message", (d) => {
      const msg = JSON.parse(String(d)) as Record<string, unknown>;
      if (msg.event === "start") state.t0 = performance.now();
      state.got.push({ at: performance.now() - state.t0, msg });
      const sid = String(msg.stream_sid ?? msg.streamSid ?? "");
      if (msg.event === "start") onStart(ws, sid, state.got);
      if (msg.event === "media" && options.onMedia)
        options.onMedia(ws, sid, (msg.media as { payload: string }).payload);
    });
  });
  const port = (wss.address() as AddressInfo).port;
  return {
    state,
    url: `ws://127.0.0.1:${port}/media`,
    port,
    close: () => new Promise<void>((r) => wss.close(() => r())),
    frames: (event: string) => state.got.filter((g) => g.msg.event === event),
  };
}

function media(sid: string, pcm: Buffer): string {
  return JSON.stringify({ event: "media", stream_sid: sid, media: { payload: pcm.toString("base64") } });
}

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe("what the simulated Exotel sends", () => {
  it("upgrade, connected, start, real-time media, DTMF, stop and close, exactly as documented", async () => {
    const b = await fakeBridge();
    try {
      const speech = tone(300, 300, 16000, 0.3);
      const { report } = await placeCall({
        url: `ws://key%40x:tok@127.0.0.1:${b.port}/media?route=a`,
        sampleRate: 16000,
        from: "+911111111111",
        to: "+912222222222",
        callSid: "CA1",
        streamSid: "MZ1",
        accountSid: "AC1",
        customParameters: { lang: "hi" },
        audio: [{ pcm: speech, sampleRate: 16000 }],
        dtmf: [{ atMs: 500, digits: "1#" }],
        hangupAfterMs: 1000,
      });
      const req = b.state.req as IncomingMessage;
      const q = new URL(req.url ?? "", "http://x").searchParams;
      assert.equal(q.get("sample-rate"), "16000");
      assert.equal(q.get("lang"), "hi", "custom parameters ride on the URL like Exotel's applet");
      assert.equal(q.get("route"), "a");
      assert.equal(req.headers.authorization, `Basic ${Buffer.from("key@x:tok").toString("base64")}`);

      const got = b.state.got;
      assert.deepEqual(got[0]?.msg, { event: "connected" });
      assert.deepEqual(got[1]?.msg, {
        event: "start",
        sequence_number: "1",
        stream_sid: "MZ1",
        start: {
          stream_sid: "MZ1",
          call_sid: "CA1",
          account_sid: "AC1",
          from: "+911111111111",
          to: "+912222222222",
          custom_parameters: { lang: "hi" },
          media_format: { encoding: "audio/x-raw", sample_rate: "16000", bit_rate: "16" },
        },
      });
      const seqs = got.slice(1).map((g) => g.msg.sequence_number);
      assert.deepEqual(
        seqs,
        seqs.map((_, i) => String(i + 1)),
        "sequence_number counts up by one, as strings",
      );
      const frames = b.frames("media");
      assert.ok(frames.length >= 9 && frames.length <= 10, `${frames.length} frames in 1 s`);
      frames.forEach((f, k) => {
        const m = f.msg.media as Record<string, string>;
        assert.equal(f.msg.stream_sid, "MZ1");
        assert.equal(m.chunk, String(k + 1));
        assert.equal(m.timestamp, String((k + 1) * 100));
        assert.equal(Buffer.from(m.payload as string, "base64").length, 3200, "100 ms at 16 kHz");
      });
      // Real time: frame k leaves once its 100 ms have been "captured", at (k + 1) * 100 ms. The
      // server's clock starts when start arrives, so single frames can look a little early; a
      // simulator sending each frame as its audio began would be a whole frame (100 ms) early on
      // the median. No drift: frames are scheduled from the call's start, so a busy machine
      // delays some without the delays adding up.
      const lateness = frames.map((f, k) => f.at - (k + 1) * 100).sort((x, y) => x - y);
      const median = lateness[Math.floor(lateness.length / 2)] ?? Number.NaN;
      assert.ok(median >= -50, `frames early by ${(-median).toFixed(0)} ms on the median`);
      assert.ok((lateness.at(-1) ?? 0) < 400, `frames late by up to ${lateness.at(-1)?.toFixed(0)} ms`);
      const sent = Buffer.concat(
        frames.map((f) => Buffer.from((f.msg.media as { payload: string }).payload, "base64")),
      );
      assert.ok(sent.subarray(0, speech.length).equals(speech), "caller audio byte for byte");
      assert.ok(
        sent.subarray(speech.length).equals(Buffer.alloc(sent.length - speech.length)),
        "then silence",
      );

      const dtmf = b.frames("dtmf");
      assert.deepEqual(
        dtmf.map((d) => d.msg.dtmf),
        [
          { digit: "1", duration: "100" },
          { digit: "#", duration: "100" },
        ],
      );
      // At 500 and 750 ms: never early, and late only by what a busy machine adds.
      const [d1, d2] = [dtmf[0]?.at ?? 0, dtmf[1]?.at ?? 0];
      assert.ok(d1 >= 480 && d1 < 900 && d2 >= 730 && d2 < 1150, `DTMF at ${d1} and ${d2} ms`);
      assert.ok(d2 > d1, "in order");
      const stop = b.frames("stop");
      assert.equal(stop.length, 1);
      assert.deepEqual(stop[0]?.msg.stop, { call_sid: "CA1", account_sid: "AC1", reason: "callended" });
      assert.equal(got.at(-1)?.msg.event, "stop", "nothing after stop");

      assert.equal(report.end.by, "caller");
      assert.equal(report.end.cause, "hangup_after");
      assert.equal(report.end.code, 1000);
      assert.equal(report.dtmfSent, "1#");
      assert.equal(report.ok, false);
      assert.deepEqual(report.failures, ["no agent audio received"]);
    } finally {
      await b.close();
    }
  });

  it("camelCase keys and numbers as numbers when asked", async () => {
    const b = await fakeBridge();
    try {
      await placeCall({
        url: b.url,
        spelling: "camel",
        numbers: "number",
        hangupAfterMs: 250,
        dtmf: [{ atMs: 50, digits: "5" }],
      });
      const start = b.frames("start")[0]?.msg as Record<string, Record<string, unknown>>;
      assert.equal(typeof start.streamSid, "string");
      assert.equal(start.sequenceNumber, 1);
      assert.deepEqual(Object.keys(start.start ?? {}).sort(), [
        "accountSid",
        "callSid",
        "customParameters",
        "from",
        "mediaFormat",
        "streamSid",
        "to",
      ]);
      assert.deepEqual(start.start?.mediaFormat, { encoding: "audio/x-raw", sampleRate: 8000, bitRate: 16 });
      const m = b.frames("media")[0]?.msg as Record<string, unknown>;
      assert.equal(typeof (m.media as Record<string, unknown>).chunk, "number");
      assert.deepEqual(b.frames("dtmf")[0]?.msg.dtmf, { digit: "5", duration: 100 });
      assert.equal(typeof b.frames("stop")[0]?.msg.streamSid, "string");
    } finally {
      await b.close();
    }
  });
});

describe("how the simulated Exotel plays what it receives", () => {
  it("queues audio in real time, drops unplayed audio on clear, echoes marks once their audio played", async () => {
    const frame = (hz: number) => tone(hz, 200, 8000, 0.3); // 3,200 bytes: a valid frame
    const b = await fakeBridge((ws, sid) => {
      // 1 s at once (too much lead: measured), a mark, then a barge-in 300 ms later.
      for (let i = 0; i < 5; i++) ws.send(media(sid, frame(500)));
      ws.send(JSON.stringify({ event: "mark", stream_sid: sid, mark: { name: "m1" } }));
      setTimeout(() => {
        ws.send(JSON.stringify({ event: "clear", stream_sid: sid }));
        ws.send(JSON.stringify({ event: "mark", stream_sid: sid, mark: { name: "m2" } }));
      }, 300);
      setTimeout(() => {
        ws.send(media(sid, frame(1000)));
        ws.send(media(sid, frame(1000)));
        ws.send(JSON.stringify({ event: "mark", stream_sid: sid, mark: { name: "m3" } }));
      }, 1200);
      setTimeout(() => ws.close(1000), 2000);
    });
    try {
      const { report, audio } = await placeCall({ url: b.url });
      const echoes = b.frames("mark").map((m) => ({ name: (m.msg.mark as { name: string }).name, at: m.at }));
      assert.deepEqual(
        echoes.map((e) => e.name),
        ["m1", "m2", "m3"],
      );
      // Where the clear cut depends on when it arrived (300 ms on an idle machine, later on a busy
      // one): the frame playing then finishes, the frames after it are dropped, and m1 and m2 are
      // echoed when that frame ends. Expectations follow the arrival, so load cannot fail the test.
      const first = report.firstAgentAudioMs ?? Number.NaN;
      assert.ok(first >= 0 && first < 500, `first agent audio at ${first} ms`);
      const clearAt = report.timeline.find((e) => e.event === "clear")?.atMs ?? Number.NaN;
      const cut = first + Math.ceil((clearAt - first) / 200) * 200;
      assert.ok(cut >= first + 400, `the clear came during frame 2 or later (cut at ${cut} ms)`);
      const dropped = Math.max(0, first + 1000 - cut);
      for (const e of echoes.slice(0, 2))
        assert.ok(
          e.at >= cut - 10 && e.at < cut + 300,
          `${e.name} echoed at ${e.at}, its audio ended at ${cut}`,
        );
      // m3 waits for the 400 ms sent after 1.2 s: never before 1.6 s.
      assert.ok(
        (echoes[2]?.at ?? 0) >= 1590 && (echoes[2]?.at ?? 0) < 1600 + 400,
        `m3 echoed at ${echoes[2]?.at} (after 400 ms of audio)`,
      );
      // 1 s queued at once: the lead is that second (less only the time between the five arrivals).
      assert.ok(
        report.maxQueuedAheadMs >= 900 && report.maxQueuedAheadMs <= 1000,
        `${report.maxQueuedAheadMs}`,
      );
      assert.equal(report.clears, 1);
      assert.equal(report.interruptions.length, 1);
      assert.ok(
        Math.abs((report.interruptions[0]?.droppedMs ?? -1) - dropped) <= 1,
        "the frames not started were dropped",
      );
      assert.equal(report.audio.agentReceivedS, 1.4);
      assert.ok(Math.abs(report.audio.agentClearedS - dropped / 1000) < 0.002);
      assert.ok(Math.abs(report.audio.agentPlayedS - (1.4 - dropped / 1000)) < 0.01);
      assert.deepEqual(report.marks, { received: 3, echoed: 3 });
      assert.equal(report.frames.violations, 0);
      assert.equal(report.end.by, "bridge");
      assert.equal(report.end.code, 1000);
      assert.ok(report.ok, report.failures.join("; "));
      // As heard: 400 ms of 500 Hz, silence, then 400 ms of 1 kHz from 1.2 s.
      const at = (ms: number) => ms * 16;
      assert.ok(toneAmplitude(audio.agent, 8000, 500, at(20), at(380)) > 0.25);
      assert.ok(
        toneAmplitude(audio.agent, 8000, 500, at(420), at(1180)) < 0.01,
        "the cleared audio is not heard",
      );
      assert.ok(toneAmplitude(audio.agent, 8000, 1000, at(1220), at(1580)) > 0.25);
    } finally {
      await b.close();
    }
  });

  it("flags every frame-rule violation, at the stream's own rate", async () => {
    const b = await fakeBridge((ws, sid) => {
      ws.send(media(sid, Buffer.alloc(3200))); // ok at 16 kHz (5 x 640)
      ws.send(media(sid, Buffer.alloc(3520))); // fine at 8 kHz, not a multiple of 640
      ws.send(media(sid, Buffer.alloc(1920))); // 3 units but under 3,200
      ws.send(media(sid, Buffer.alloc(100_480))); // 157 units, over 100 KB
      ws.send(JSON.stringify({ event: "media", stream_sid: sid, media: { payload: "@@@@" } }));
      ws.send(JSON.stringify({ event: "media", media: { payload: Buffer.alloc(3200).toString("base64") } }));
      ws.send(JSON.stringify({ event: "clear", streamSid: sid }));
      ws.send(JSON.stringify({ event: "mark", stream_sid: "MZother", mark: { name: "x" } }));
      ws.send(JSON.stringify({ event: "play", stream_sid: sid }));
      ws.send("not json");
      ws.send(Buffer.from([1, 2]), { binary: true });
      setTimeout(() => ws.close(1000), 200);
    });
    try {
      const { report } = await placeCall({ url: b.url, sampleRate: 16000 });
      const problems = report.frames.violationSamples.map((v) => v.problem);
      assert.deepEqual(problems, [
        "payload 3520 bytes is not a multiple of 640 (20 ms at 16000 Hz)",
        "payload 1920 bytes is under 3200",
        "payload 100480 bytes is over 100000",
        "media.payload is not strict base64",
        "media: missing stream_sid",
        "clear: missing stream_sid (sent camelCase streamSid)",
        'mark: wrong stream_sid "MZother"',
        'unknown event "play" (Exotel accepts media, mark, clear)',
        "frame is not a JSON object",
        "binary frame (Exotel expects JSON text)",
      ]);
      assert.equal(report.frames.violations, 10);
      assert.deepEqual(report.frames.sizes, { "1920": 1, "3200": 2, "3520": 1, "100480": 1 });
      assert.equal(report.ok, false);
      assert.match(report.failures.join(";"), /10 frame-rule violation/);
    } finally {
      await b.close();
    }
  });

  it("reports a refused upgrade with its status, and a dead port as an error", async () => {
    const b = await fakeBridge(undefined, { refuse: 401 });
    try {
      const { report } = await placeCall({ url: b.url });
      assert.equal(report.ok, false);
      assert.equal(report.end.by, "refused");
      assert.equal(report.end.status, 401);
      assert.match(report.failures[0] ?? "", /HTTP 401/);
    } finally {
      await b.close();
    }
    const dead = await placeCall({ url: `ws://127.0.0.1:${b.port}/media` });
    assert.equal(dead.report.end.by, "error");
    assert.match(dead.report.failures[0] ?? "", /could not connect/);
    // Saved: the report says what happened; no empty WAV pretends to be a recording.
    const dir = mkdtempSync(join(tmpdir(), "sim-refused-"));
    dirs.push(dir);
    const files = saveCall(dead, dir, "dead");
    assert.equal(files.wav, undefined);
    assert.deepEqual(readdirSync(dir), ["dead.json"]);
    assert.equal(JSON.parse(readFileSync(files.json, "utf8")).recording, null);
  });

  it("ends when the bridge closes, and counts an abnormal close as a failure", async () => {
    const b = await fakeBridge((ws, sid) => {
      ws.send(media(sid, Buffer.alloc(3200)));
      setTimeout(() => ws.close(1011, "boom"), 300);
    });
    try {
      const { report } = await placeCall({ url: b.url, hangupAfterMs: 5000 });
      assert.equal(report.end.by, "bridge");
      assert.equal(report.end.code, 1011);
      // The bridge closed at 300 ms; anything near the 5 s hang-up would mean the close went unseen.
      assert.ok(report.durationMs < 4000, `ended at ${report.durationMs} ms`);
      assert.match(report.failures.join(";"), /code 1011 \(boom\)/);
    } finally {
      await b.close();
    }
  });
});

describe("the recording is time-aligned", () => {
  it("a caller tone and its echo land at the expected offsets in the stereo WAV", async () => {
    // The fake bridge first queues 400 ms of silence, then plays every caller frame straight back.
    // Each 200 ms frame leaves the caller once captured and is queued behind the previous one, so
    // what the caller says at t is heard at exactly t + 400 ms, whatever the loopback jitter.
    const b = await fakeBridge((ws, sid) => ws.send(media(sid, Buffer.alloc(6400))), {
      onMedia: (ws, sid, payload) =>
        ws.send(JSON.stringify({ event: "media", stream_sid: sid, media: { payload } })),
    });
    try {
      const caller = Buffer.concat([silence(1000, 8000), tone(440, 600, 8000, 0.5), silence(900, 8000)]);
      const result = await placeCall({
        url: b.url,
        frameMs: 200, // 3,200 bytes at 8 kHz: frames the echo may send back as they are
        audio: [{ pcm: caller, sampleRate: 8000 }],
        hangupAfterMs: 2600,
      });
      assert.equal(result.report.frames.violations, 0);
      const dir = mkdtempSync(join(tmpdir(), "sim-align-"));
      dirs.push(dir);
      const { wav } = saveCall(result, dir, "aligned");
      assert.ok(wav, "a connected call has a recording");
      const file = readWav(wav);
      assert.equal(file.channels, 2);
      assert.equal(file.sampleRate, 8000);
      const { left, right } = splitStereo(file.pcm);
      const onset = (pcm: Buffer): number => {
        // First 5 ms window where the 440 Hz tone is clearly present.
        for (let ms = 0; ms + 5 <= pcm.length / 16; ms += 1) {
          if (toneAmplitude(pcm, 8000, 440, ms * 16, (ms + 5) * 16) > 0.2) return ms;
        }
        return -1;
      };
      const l = onset(left);
      const r = onset(right);
      assert.ok(Math.abs(l - 1000) <= 5, `caller tone at ${l} ms, expected 1000`);
      // The 400 ms of silence starts playing when it arrives (a few ms after start on a busy
      // machine), and every echo is queued behind it: the echo lands 400 ms plus that arrival late.
      const expected = 1400 + Math.max(0, result.report.firstAgentAudioMs ?? 0);
      assert.ok(Math.abs(r - expected) <= 5, `agent echo at ${r} ms, expected ${expected}`);
      assert.ok(
        toneAmplitude(right, 8000, 440, 0, (expected - 10) * 16) < 0.01,
        "nothing on the agent side before the echo",
      );
      // The whole tone comes back, contiguous: 600 ms of it.
      assert.ok(toneAmplitude(right, 8000, 440, (r + 10) * 16, (r + 590) * 16) > 0.45);
    } finally {
      await b.close();
    }
  });
});
