/**
 * Socket-level fuzz: thousands of random and mutated frames on many connections while a real
 * call runs. The process stays up, the real call completes with all its audio both ways, bad
 * frames are logged at most at warn and rate-limited, and no connection can pollute prototypes.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import fc from "fast-check";
import { WebSocket } from "ws";
import { ExotelSocket } from "../../scripts/lib/exotel-caller.js";
import { ADMIN_HEADERS, startRig } from "../support/bridge.js";
import { tone } from "../support/dsp.js";

const validStart = (sid: string) =>
  JSON.stringify({
    event: "start",
    stream_sid: sid,
    start: {
      stream_sid: sid,
      call_sid: `CA${sid}`,
      from: "+91",
      to: "+92",
      media_format: { sample_rate: "8000" },
    },
  });

/** Frames a scanner or a broken client might send. */
const hostileFrame: fc.Arbitrary<string | Buffer> = fc.oneof(
  fc.string({ maxLength: 200 }),
  fc.json({ maxDepth: 3 }),
  fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)),
  fc.constantFrom(
    '{"event":"media","media":{"payload":"!!!not base64!!!"}}',
    '{"event":"media","media":{"payload":12}}',
    '{"event":"media"}',
    '{"event":"media","stream_sid":"x","media":{"payload":"AAE="}}',
    '{"event":"dtmf","dtmf":{"digit":"99"}}',
    '{"event":"mark"}',
    '{"event":"stop"}',
    '{"__proto__":{"polluted":1},"event":"start","start":{"stream_sid":"p","custom_parameters":{"__proto__":{"polluted":2}}}}',
    '{"event":"start","start":{"stream_sid":"s2","custom_parameters":{"constructor":{"prototype":{"polluted":3}}}}}',
    '{"event":"connected","constructor":{"prototype":{"polluted":4}}}',
    '{"event":["media"]}',
    "null",
    "[]",
    `{"event":"media","media":{"payload":"${"A".repeat(200_000)}"}}`,
  ),
  fc.json().map((j) => `${j.slice(0, Math.max(1, j.length - 1))}`),
  fc.constant(validStart("MZfuzz")),
);

async function hostileConnection(url: string, frames: Array<string | Buffer>): Promise<number> {
  const ws = new WebSocket(url);
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("error", reject);
  });
  let closedCode = 0;
  ws.on("close", (code) => {
    closedCode = code;
  });
  ws.on("error", () => {});
  for (const f of frames) {
    if (ws.readyState !== WebSocket.OPEN) break;
    ws.send(f, { binary: Buffer.isBuffer(f) });
    if (Math.random() < 0.05) await sleep(1);
  }
  await sleep(50);
  ws.terminate();
  return closedCode;
}

describe("hostile input on many connections while a real call runs", () => {
  it("keeps the real call whole and the process up", async () => {
    const rig = await startRig(
      { outputFormat: "pcm_8000", inputFormat: "pcm_8000" },
      { EXOTEL_MAX_MESSAGE_BYTES: "65536", START_TIMEOUT_MS: "3000" },
      { level: "info" },
    );
    try {
      // The real call.
      const sock = await ExotelSocket.connect({ url: rig.bridge.url, sampleRate: 8000 });
      sock.sendConnected();
      sock.sendStart();
      const conv = await rig.agent.nextConversation();
      await rig.bridge.logs.waitFor((l) => l.some((x) => x.event === "agent_connected"), 5000);
      const callerAudio = tone(440, 8000, 3000);
      const agentAudio = tone(660, 8000, 2000);
      conv.sendAudio(agentAudio, conv.newEventId());

      // Meanwhile: 25 hostile connections x 120 frames = 3,000 frames.
      const frames = fc.sample(hostileFrame, { numRuns: 3000, seed: 20261127 });
      const fuzz = Promise.all(
        Array.from({ length: 25 }, (_, i) =>
          hostileConnection(rig.bridge.url, frames.slice(i * 120, (i + 1) * 120)),
        ),
      );
      for (let i = 0; i < 30; i++) {
        sock.sendMedia(callerAudio.subarray(i * 1600, (i + 1) * 1600));
        await sleep(100);
      }
      const codes = await fuzz;
      await conv.waitFor((c) => c.userAudio().length >= callerAudio.length, 5000, "all caller audio");
      await sock.waitFor((f) => f.some((x) => x.event === "mark"), 5000, "agent audio done");

      assert.ok(conv.userAudio().subarray(0, callerAudio.length).equals(callerAudio), "caller audio intact");
      const got = Buffer.concat(
        sock.received
          .filter((f) => f.event === "media")
          .map((f) => Buffer.from((f.json as { media: { payload: string } }).media.payload, "base64")),
      );
      assert.ok(got.subarray(0, agentAudio.length).equals(agentAudio), "agent audio intact");
      assert.equal(({} as Record<string, unknown>).polluted, undefined, "no prototype pollution");
      assert.equal((await fetch(`${rig.bridge.http}/healthz`)).status, 200);
      assert.ok(codes.includes(1009), "an oversized message closes only its own connection (1009)");

      sock.sendStop();
      sock.close();
      await rig.bridge.logs.waitFor(
        (l) => l.filter((x) => x.event === "call_summary").length >= 1 && rig.bridge.bridge.calls.size === 0,
        8000,
        "every call ended",
      );
      const real = rig.bridge.logs.events("call_summary").find((s) => s.call_sid === sock.callSid);
      assert.equal(real?.end_reason, "caller_hangup");

      // Bad frames: at most warn, and rate-limited (burst 40 + 20/s over the run).
      const badLogs = rig.bridge.logs.events("bad_frame");
      assert.ok(badLogs.every((l) => l.severity === "WARNING"));
      assert.ok(badLogs.length <= 40 + 20 * 10, `${badLogs.length} bad-frame log lines`);
      const metrics = await (await fetch(`${rig.bridge.http}/metrics`, { headers: ADMIN_HEADERS })).text();
      const counted = [
        ...metrics.matchAll(/exotel_bridge_bad_frames_total\{source="exotel",code="[a-z_]+"\} (\d+)/g),
      ]
        .map((m) => Number(m[1]))
        .reduce((a, b) => a + b, 0);
      assert.ok(
        counted > badLogs.length,
        `metrics count every bad frame (${counted}) even when logs are limited`,
      );
      // No process-level errors: every error line belongs to a call's own ending.
      const errors = rig.bridge.logs.lines.filter((l) => l.severity === "ERROR" || l.severity === "CRITICAL");
      assert.ok(
        errors.every(
          (l) => l.event === "call_summary" || l.event === "call_ending" || l.event === "agent_error_event",
        ),
        JSON.stringify(errors.slice(0, 3)),
      );
    } finally {
      await rig.close();
    }
  });
});
