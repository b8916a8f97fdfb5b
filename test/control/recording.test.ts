/**
 * Recordings: the stereo timeline (unit), a real call recorded to disk with the caller on the left
 * and the agent on the right where the caller heard it, cut at barge-in; and the upload to a local
 * stand-in for Cloud Storage's JSON API and the metadata server (token, exact request, retry,
 * failure keeps the file).
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { StereoTimeline } from "../../app/src/control/recording/stereo-timeline.js";
import { ExotelSocket } from "../../scripts/lib/exotel-caller.js";
import type { LocalAgent } from "../../scripts/lib/local-agent.js";
import { parseWav, splitStereo } from "../../scripts/lib/wav.js";
import { samples, tonePower } from "../support/dsp.js";
import {
  metadataSent,
  type RecordedRequest,
  StandIn,
  sleep,
  startAgent,
  startBridge,
  type TestBridge,
  tone,
} from "./harness.js";

const RATE = 8000;

function pcm(values: number[]): Buffer {
  const b = Buffer.alloc(values.length * 2);
  values.forEach((v, i) => {
    b.writeInt16LE(v, i * 2);
  });
  return b;
}

function channels(stereo: Buffer): { left: number[]; right: number[] } {
  const left: number[] = [];
  const right: number[] = [];
  for (let i = 0; i + 3 < stereo.length; i += 4) {
    left.push(stereo.readInt16LE(i));
    right.push(stereo.readInt16LE(i + 2));
  }
  return { left, right };
}

describe("stereo timeline", () => {
  // 1 sample per ms at a 1 kHz "rate" keeps the arithmetic visible.
  it("lays caller audio end to end, places agent audio at its play time, and releases only what is final", () => {
    const t = new StereoTimeline(1000, 100);
    t.caller(pcm([1, 1, 1, 1, 1]), 105); // arrived at 105: samples 0-4
    t.agent(pcm([7, 7, 7]), 108); // plays at 108: samples 8-10
    let out = channels(t.take());
    assert.deepEqual(out.left, [1, 1, 1, 1, 1], "released up to the caller audio so far (now = 105)");
    assert.deepEqual(out.right, [0, 0, 0, 0, 0]);
    t.caller(pcm([2, 2, 2, 2, 2, 2]), 111); // continues at 5-10 (arrival jitter is not a gap)
    out = channels(t.take());
    assert.deepEqual(out.left, [2, 2, 2, 2, 2, 2]);
    assert.deepEqual(out.right, [0, 0, 0, 7, 7, 7]);
    out = channels(t.takeAll());
    assert.equal(out.left.length, 0);
  });

  it("a barge-in erases agent audio scheduled after it; a real gap in caller audio stays silent", () => {
    const t = new StereoTimeline(1000, 0);
    t.agent(pcm(Array(20).fill(5)), 0); // 0-19 scheduled
    t.caller(pcm(Array(6).fill(1)), 6);
    t.cleared(10); // the caller heard 0-9 only
    t.caller(pcm(Array(4).fill(1)), 10);
    t.caller(pcm(Array(4).fill(3)), 1000); // Exotel paused: natural start 996, far after 10
    const { left, right } = channels(t.takeAll());
    assert.equal(left.length, 1000);
    assert.deepEqual(right.slice(0, 10), Array(10).fill(5));
    assert.ok(
      right.slice(10).every((v) => v === 0),
      "nothing after the cut",
    );
    assert.deepEqual(left.slice(0, 10), Array(10).fill(1));
    assert.ok(left.slice(10, 996).every((v) => v === 0));
    assert.deepEqual(left.slice(996), [3, 3, 3, 3]);
    assert.equal(t.releasedSamples, 1000);
  });

  it("the burst of audio buffered while the agent connected lands from the start, not at the flush", () => {
    const t = new StereoTimeline(1000, 0);
    for (let i = 0; i < 5; i++) t.caller(pcm(Array(100).fill(i + 1)), 600); // 500 ms flushed at 600
    const { left } = channels(t.takeAll());
    assert.equal(left.length, 500);
    assert.equal(left[0], 1);
    assert.equal(left[499], 5);
  });
});

/** First and last index (ms) where |sample| exceeds `threshold` in 10 ms blocks. */
function activeSpan(x: Buffer, rate: number, threshold = 1000): { start: number; end: number } | undefined {
  const block = rate / 100;
  let start = -1;
  let end = -1;
  for (let b = 0; (b + 1) * block * 2 <= x.length; b++) {
    let peak = 0;
    for (let i = 0; i < block; i++) peak = Math.max(peak, Math.abs(x.readInt16LE((b * block + i) * 2)));
    if (peak > threshold) {
      if (start < 0) start = b * 10;
      end = (b + 1) * 10;
    }
  }
  return start < 0 ? undefined : { start, end };
}

describe("recording a real call", () => {
  let agent: LocalAgent;
  let b: TestBridge;
  let dir: string;

  before(async () => {
    agent = await startAgent();
    dir = mkdtempSync(path.join(tmpdir(), "xb-rec-"));
    const routes = path.join(dir, "routes.yaml");
    writeFileSync(
      routes,
      "routes:\n  - name: private-line\n    match: { to: '+918000000077' }\n    record: false\n",
    );
    b = await startBridge({
      ELEVENLABS_BASE_URL: agent.url,
      ELEVENLABS_AGENT_ID: agent.agentIds[0] as string,
      RECORDINGS_DIR: path.join(dir, "recordings"),
      ROUTING_TABLE_FILE: routes,
      // A routing table puts call control to work, so /exotel/* need their credential.
      EXOTEL_WEBHOOK_TOKEN: "rec-hook-token-0123456789",
      PLAYOUT_LEAD_MS: "400",
    });
  });
  after(async () => {
    await b.close();
    await agent.close();
  });

  it("writes caller left and agent right, aligned as heard, cut at the barge-in", async () => {
    const sock = await ExotelSocket.connect({ url: b.wsUrl, sampleRate: 8000, callSid: "CArec00001" });
    sock.sendConnected();
    sock.sendStart();
    // The caller: a 300 Hz tone for 1.5 s, then silence; 100 ms frames in real time.
    const callerTone = tone(300, 1500, RATE);
    let sent = 0;
    const timer = setInterval(() => {
      const frame = Buffer.alloc(1600);
      if (sent < callerTone.length) callerTone.copy(frame, 0, sent, sent + 1600);
      sent += 1600;
      sock.sendMedia(frame);
    }, 100);
    try {
      const conv = await agent.nextConversation();
      await metadataSent(conv);
      await sleep(300);
      // The agent: 2 s of 1 kHz at once (paced out by the bridge), interrupted 700 ms later.
      conv.sendAudio(tone(1000, 2000, RATE), 1);
      await sock.waitFor((f) => f.some((x) => x.event === "media"), 3000, "agent audio");
      await sleep(700);
      conv.interrupt(1);
      await sock.waitFor((f) => f.some((x) => x.event === "clear"), 3000, "clear");
      await sleep(1200);
      sock.sendStop();
      sock.close();
      const summary = await b.logs.waitFor("call_summary", 15_000, (l) => l.call_sid === "CArec00001");
      const file = summary.recording as string;
      assert.ok(file?.endsWith(".wav") && existsSync(file), `recording at ${file}`);
      assert.ok(file.startsWith(path.join(dir, "recordings")));

      const bytes = readFileSync(file);
      assert.equal(bytes.readUInt32LE(40), bytes.length - 44, "data size in the header");
      assert.equal(bytes.readUInt32LE(4), bytes.length - 8, "RIFF size in the header");
      const wav = parseWav(bytes, file);
      assert.equal(wav.channels, 2);
      assert.equal(wav.sampleRate, RATE);
      assert.ok(Math.abs((summary.recording_s as number) - wav.pcm.length / 4 / RATE) < 0.01);
      const { left, right } = splitStereo(wav.pcm);

      // Each side on its own channel.
      const l = samples(left);
      const r = samples(right);
      assert.ok(tonePower(l, RATE, 300) > 100 * tonePower(l, RATE, 1000), "caller tone on the left");
      assert.ok(tonePower(r, RATE, 1000) > 100 * tonePower(r, RATE, 300), "agent tone on the right");

      // The caller's tone starts at the start of the recording and lasts 1.5 s.
      const callerSpan = activeSpan(left, RATE);
      assert.ok(callerSpan && callerSpan.start <= 100, `caller starts at ${callerSpan?.start} ms`);
      assert.ok(callerSpan && Math.abs(callerSpan.end - callerSpan.start - 1500) <= 60);

      // The agent is where Exotel played it: its first frame arrived at `firstAt` on the caller's
      // clock, which starts with the caller's first frame (100 ms in).
      const agentSpan = activeSpan(right, RATE);
      const firstAt = (sock.received.find((f) => f.event === "media")?.atMs ?? 0) - 100;
      const clearAt = (sock.received.find((f) => f.event === "clear")?.atMs ?? 0) - 100;
      assert.ok(agentSpan, "agent audio present");
      assert.ok(
        Math.abs(agentSpan.start - firstAt) <= 150,
        `agent starts at ${agentSpan.start}, heard at ${firstAt}`,
      );
      // Cut at the barge-in: about 700 ms heard, not the 2 s sent.
      assert.ok(
        Math.abs(agentSpan.end - clearAt) <= 150,
        `agent ends at ${agentSpan.end}, clear at ${clearAt}`,
      );
      assert.ok(agentSpan.end - agentSpan.start < 1200, "the rest of the 2 s reply is not in the recording");
    } finally {
      clearInterval(timer);
    }
  });

  it("a route with record: false makes no recording", async () => {
    const before = readdirSync(path.join(dir, "recordings")).length;
    const sock = await ExotelSocket.connect({ url: b.wsUrl, callSid: "CArec00002", to: "+918000000077" });
    sock.sendConnected();
    sock.sendStart();
    const conv = await agent.nextConversation();
    await metadataSent(conv);
    sock.sendMedia(Buffer.alloc(1600));
    sock.sendStop();
    sock.close();
    const summary = await b.logs.waitFor("call_summary", 5000, (l) => l.call_sid === "CArec00002");
    assert.equal(summary.recording, undefined);
    assert.equal(readdirSync(path.join(dir, "recordings")).length, before);
  });
});

describe("uploading recordings to Cloud Storage", () => {
  let agent: LocalAgent;
  let gcs: StandIn;
  let dir: string;
  /** What the stand-in does with the next uploads: status codes, in order; then 200. */
  const plan: number[] = [];

  before(async () => {
    agent = await startAgent();
    dir = mkdtempSync(path.join(tmpdir(), "xb-gcs-"));
    gcs = await new StandIn((req: RecordedRequest) => {
      if (req.url.pathname === "/computeMetadata/v1/instance/service-accounts/default/token") {
        if (req.headers["metadata-flavor"] !== "Google")
          return { status: 403, body: "missing Metadata-Flavor" };
        return {
          status: 200,
          body: { access_token: "ya29.local-test-token", expires_in: 3599, token_type: "Bearer" },
        };
      }
      if (req.method === "POST" && req.url.pathname === "/upload/storage/v1/b/calls-bucket/o") {
        if (req.headers.authorization !== "Bearer ya29.local-test-token")
          return { status: 401, body: { error: { code: 401, message: "Invalid Credentials" } } };
        const status = plan.shift() ?? 200;
        if (status !== 200)
          return {
            status,
            body: {
              error: {
                code: status,
                message: `calls-run@p.iam does not have storage.objects.create (${status})`,
              },
            },
          };
        return {
          status: 200,
          body: {
            bucket: "calls-bucket",
            name: req.url.searchParams.get("name"),
            size: String(req.body.length),
          },
        };
      }
      return { status: 404, body: "not found" };
    }).listen();
  });
  after(async () => {
    await gcs.close();
    await agent.close();
  });

  async function recordOneCall(b: TestBridge, callSid: string) {
    const sock = await ExotelSocket.connect({ url: b.wsUrl, callSid });
    sock.sendConnected();
    sock.sendStart();
    const conv = await agent.nextConversation();
    await metadataSent(conv);
    for (let i = 0; i < 5; i++) sock.sendMedia(tone(300, 100, RATE));
    sock.sendStop();
    sock.close();
    return b.logs.waitFor("call_summary", 15_000, (l) => l.call_sid === callSid);
  }

  function env(sub: string): Record<string, string> {
    return {
      ELEVENLABS_BASE_URL: agent.url,
      ELEVENLABS_AGENT_ID: agent.agentIds[0] as string,
      RECORDINGS_DIR: path.join(dir, sub),
      RECORDINGS_BUCKET: "calls-bucket",
      RECORDINGS_PREFIX: "exotel/",
      RECORDINGS_STORAGE_URL: gcs.url,
      GCE_METADATA_HOST: gcs.host,
    };
  }

  it("uploads with the metadata server's token, exactly as the JSON API expects, and links gs:// in the summary", async () => {
    const b = await startBridge(env("a"));
    try {
      const summary = await recordOneCall(b, "CAup000001");
      const uri = summary.recording as string;
      assert.match(uri, /^gs:\/\/calls-bucket\/exotel\/\d{4}\/\d{2}\/\d{2}\/CAup000001_[0-9a-f]{8}\.wav$/);
      const token = gcs.requests.find((r) => r.url.pathname.startsWith("/computeMetadata"));
      assert.equal(token?.headers["metadata-flavor"], "Google");
      const up = gcs.requests.find((r) => r.url.pathname.startsWith("/upload")) as RecordedRequest;
      assert.equal(up.url.searchParams.get("uploadType"), "media");
      assert.equal(up.url.searchParams.get("ifGenerationMatch"), "0", "never overwrites");
      assert.equal(`gs://calls-bucket/${up.url.searchParams.get("name")}`, uri);
      assert.equal(up.headers["content-type"], "audio/wav");
      assert.equal(Number(up.headers["content-length"]), up.body.length);
      const wav = parseWav(up.body, "uploaded");
      assert.equal(wav.channels, 2);
      assert.ok(wav.pcm.length >= 4 * 400, "the call's audio is in the object");
      assert.equal(readdirSync(path.join(dir, "a")).length, 0, "the local copy is deleted after the upload");
      assert.ok(!b.logs.raw.includes("ya29.local-test-token"), "the access token is never logged");
    } finally {
      await b.close();
    }
  });

  it("retries once on a 503; a 403 keeps the local file and says so in the summary", async () => {
    const b = await startBridge(env("b"));
    try {
      const uploadsBefore = gcs.requests.filter((r) => r.url.pathname.startsWith("/upload")).length;
      plan.push(503);
      const ok = await recordOneCall(b, "CAup000002");
      assert.match(ok.recording as string, /^gs:\/\//);
      assert.equal(
        gcs.requests.filter((r) => r.url.pathname.startsWith("/upload")).length - uploadsBefore,
        2,
      );

      plan.push(403);
      const failed = await recordOneCall(b, "CAup000003");
      assert.equal(failed.recording_upload, "failed");
      const local = failed.recording as string;
      assert.ok(local.startsWith(path.join(dir, "b")) && existsSync(local), "kept locally");
      const logged = await b.logs.waitFor("recording_upload_failed");
      assert.equal(logged.status, 403);
    } finally {
      await b.close();
    }
  });
});
