/**
 * Guards for behaviours a plausible one-line change in the bridge would break without any other
 * test noticing. Each case names the change it catches; each was checked by applying that change
 * to the bridge and watching the case fail. End to end over real sockets (simulated Exotel, the
 * real bridge, the local test agent), so the cases hold whatever shape the bridge's modules take.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { ExotelSocket, type ReceivedFrame } from "../../scripts/lib/exotel-caller.js";
import {
  agentEnv,
  dialStream,
  metadataSent,
  request,
  startAgent,
  startBridge as startControlBridge,
} from "../control/harness.js";
import { type Rig, startRig } from "../support/bridge.js";
import { tone } from "../support/dsp.js";

async function connected(rig: Rig, options: { streamSid?: string } = {}) {
  const sock = await ExotelSocket.connect({ url: rig.bridge.url, sampleRate: 8000, ...options });
  sock.sendConnected();
  sock.sendStart();
  const conv = await rig.agent.nextConversation(5000);
  await rig.bridge.logs.waitFor((l) => l.some((x) => x.event === "agent_connected"), 5000, "agent_connected");
  return { sock, conv };
}

function mediaMs(frames: readonly ReceivedFrame[], rate = 8000): number {
  let bytes = 0;
  for (const f of frames) {
    if (f.event !== "media") continue;
    bytes += Buffer.from((f.json as { media: { payload: string } }).media.payload, "base64").length;
  }
  return bytes / ((rate * 2) / 1000);
}

describe("mutation guards", () => {
  // Catches: a new digit not restarting the DTMF flush timer (the digits typed so far would be
  // sent when the first digit's timer fires, splitting one number in two).
  it("DTMF: each digit restarts the pause timer, so digits slower than the pause in total stay one message", async () => {
    const rig = await startRig(
      { outputFormat: "pcm_8000", inputFormat: "pcm_8000" },
      { DTMF_FLUSH_MS: "2000" },
    );
    try {
      const { sock, conv } = await connected(rig);
      // 1.2 s between digits (well under the 2 s pause), 2.4 s from first to last (over it).
      for (const [i, digit] of ["1", "2", "3"].entries()) {
        if (i > 0) await sleep(1200);
        sock.sendDtmf(digit);
      }
      await conv.waitFor((c) => c.userMessages.join("").includes("3"), 10_000, "the last digit");
      assert.deepEqual(conv.userMessages, ["123"]);
      sock.sendStop();
      sock.close();
    } finally {
      await rig.close();
    }
  });

  // Catches: dropping the camelCase `start.streamSid` alias (Exotel's start can carry the stream
  // id only inside `start`, in either spelling).
  it("start: a stream id given only as start.streamSid (camelCase) is used for the call", async () => {
    const rig = await startRig({ outputFormat: "pcm_8000", inputFormat: "pcm_8000" });
    try {
      const sid = "MZnestedcamel0001";
      const sock = await ExotelSocket.connect({ url: rig.bridge.url, sampleRate: 8000, streamSid: sid });
      sock.sendConnected();
      // No top-level stream id at all: the nested camelCase one is the only one.
      sock.sendJson({
        event: "start",
        sequence_number: "1",
        start: {
          streamSid: sid,
          call_sid: "CAnestedcamel0001",
          account_sid: "ACsimulated",
          from: "+919876543210",
          to: "+918047491899",
          custom_parameters: {},
          media_format: { encoding: "audio/x-raw", sample_rate: "8000", bit_rate: "16" },
        },
      });
      const conv = await rig.agent.nextConversation(5000);
      await metadataSent(conv);
      conv.sendAudio(tone(440, 8000, 400), conv.newEventId());
      await sock.waitFor((f) => f.some((x) => x.event === "media"), 5000, "agent audio");
      const media = sock.received.find((x) => x.event === "media");
      assert.equal((media?.json as { stream_sid?: string } | undefined)?.stream_sid, sid);
      sock.sendStop();
      sock.close();
      const summary = await rig.bridge.logs.summary();
      assert.equal(summary.stream_sid, sid);
    } finally {
      await rig.close();
    }
  });

  // Catches: rejecting an `event_id` sent as a numeric string ("7"), which JSON producers do.
  it("agent audio whose event_id is a numeric string reaches the caller", async () => {
    const rig = await startRig({ outputFormat: "pcm_8000", inputFormat: "pcm_8000" });
    try {
      const { sock, conv } = await connected(rig);
      conv.sendJson({
        type: "audio",
        audio_event: { audio_base_64: tone(440, 8000, 400).toString("base64"), event_id: "7" },
      });
      await sock.waitFor((f) => mediaMs(f) >= 400, 5000, "400 ms of agent audio");
      // A later interruption naming the same id as a string still clears it.
      conv.sendJson({ type: "interruption", interruption_event: { event_id: "7" } });
      await sock.waitFor((f) => f.some((x) => x.event === "clear"), 5000, "clear");
      sock.sendStop();
      sock.close();
      const summary = await rig.bridge.logs.summary();
      assert.equal(summary.interruptions, 1);
    } finally {
      await rig.close();
    }
  });

  // Catches: the end-of-call drain looking only at audio still buffered in the bridge and not at
  // audio already sent to Exotel but not yet played (the caller would lose the goodbye's end).
  it("agent end: audio already queued at Exotel plays out before the bridge closes the stream", async () => {
    // A lead longer than the goodbye: all of it is at Exotel, none in the bridge, when the agent closes.
    const rig = await startRig(
      { outputFormat: "pcm_8000", inputFormat: "pcm_8000" },
      { PLAYOUT_LEAD_MS: "2000" },
    );
    try {
      const { sock, conv } = await connected(rig);
      conv.sendAudio(tone(440, 8000, 1200), conv.newEventId());
      await sock.waitFor((f) => mediaMs(f) >= 1200, 5000, "the whole goodbye at Exotel");
      const firstAt = sock.received.find((x) => x.event === "media")?.atMs ?? Number.NaN;
      conv.close(1000, "end_call");
      const closed = await sock.closed;
      assert.equal(closed.by, "bridge");
      // Exotel started playing on arrival of the first frame: 1.2 s of audio is queued from there.
      assert.ok(
        closed.atMs - firstAt >= 1100,
        `stream closed ${Math.round(closed.atMs - firstAt)} ms after the goodbye started (1,200 ms of it)`,
      );
      const summary = await rig.bridge.logs.summary();
      assert.equal(summary.end_reason, "agent_ended");
    } finally {
      await rig.close();
    }
  });

  // Catches: a `stop` without a reason counted as `exotel_stopped` (Exotel's hang-up may omit it).
  it("a stop without a reason is the caller hanging up", async () => {
    const rig = await startRig({ outputFormat: "pcm_8000", inputFormat: "pcm_8000" });
    try {
      const { sock } = await connected(rig);
      sock.sendJson(sock.frame("stop", { stop: { call_sid: sock.callSid, account_sid: sock.accountSid } }));
      sock.close();
      const summary = await rig.bridge.logs.summary();
      assert.equal(summary.end_reason, "caller_hangup");
    } finally {
      await rig.close();
    }
  });

  // Catches: the playout's framer not emptied on barge-in (the rest of the interrupted response
  // would go on playing after the clear).
  it("barge-in: nothing of the interrupted response is sent after the clear", async () => {
    const rig = await startRig({ outputFormat: "pcm_8000", inputFormat: "pcm_8000" });
    try {
      const { sock, conv } = await connected(rig);
      const id = conv.newEventId();
      conv.sendAudio(tone(300, 8000, 4000), id);
      await sock.waitFor((f) => f.some((x) => x.event === "media"), 5000, "first frames");
      conv.interrupt(id);
      await sock.waitFor((f) => f.some((x) => x.event === "clear"), 5000, "clear");
      const clearIdx = sock.received.findIndex((x) => x.event === "clear");
      // Long enough for several frames to have gone out at the playout's pace.
      await sleep(1000);
      assert.equal(
        mediaMs(sock.received.slice(clearIdx)),
        0,
        "audio of the interrupted response after the clear",
      );
      sock.sendStop();
      sock.close();
    } finally {
      await rig.close();
    }
  });

  // Catches: Passthru sending a failed agent's call to the fallback (Connect) branch although
  // TRANSFER_ON_FAILURE is off (its default): the caller must be hung up on, as configured.
  it("Passthru: a failed agent's call is finished (302) when TRANSFER_ON_FAILURE is off", async () => {
    const agent = await startAgent();
    const hook = "mutation-guard-hook-0123456789";
    // Call control's /exotel/* routes always need a credential: the applet URL carries ?token=.
    const b = await startControlBridge({
      ...agentEnv(agent),
      TRANSFER_NUMBERS: "default=+918000000001",
      EXOTEL_WEBHOOK_TOKEN: hook,
    }).catch(async (err: unknown) => {
      await agent.close();
      throw err;
    });
    try {
      const { sock } = await dialStream({ url: b.wsUrl, callSid: "CAfailnofb01" });
      const conv = await agent.nextConversation();
      await metadataSent(conv);
      conv.close(1011, "server error");
      await sock.closed;
      const pass = await request(`${b.httpUrl}/exotel/passthru?token=${hook}&CallSid=CAfailnofb01`);
      assert.equal(pass.status, 302);
    } finally {
      await b.close();
      await agent.close();
    }
  });
});
