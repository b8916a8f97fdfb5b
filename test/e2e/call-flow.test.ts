/**
 * End to end over real sockets: simulated Exotel -> the real bridge -> local test agent.
 * The happy path of a call, both audio directions, the conversation start, pings, marks, and the
 * caller hanging up, on the passthrough path (agent pcm_8000, Exotel 8 kHz).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { ExotelSocket, type ReceivedFrame } from "../../scripts/lib/exotel-caller.js";
import { type Rig, startRig } from "../support/bridge.js";
import { tone } from "../support/dsp.js";

function media(frames: readonly ReceivedFrame[]): Array<{ at: number; pcm: Buffer }> {
  return frames
    .filter((f) => f.event === "media")
    .map((f) => ({
      at: f.atMs,
      pcm: Buffer.from(((f.json as { media: { payload: string } }).media.payload as string) ?? "", "base64"),
    }));
}

describe("a call on the passthrough path (pcm_8000 agent, 8 kHz stream)", () => {
  let rig: Rig;
  let sock: ExotelSocket;

  before(async () => {
    rig = await startRig({ outputFormat: "pcm_8000", inputFormat: "pcm_8000" });
    sock = await ExotelSocket.connect({
      url: `${rig.bridge.url}?lang=hi`,
      sampleRate: 8000,
      from: "+919876543210",
      to: "+918047491899",
      customParameters: { lang: "hi", campaign: "renewals" },
    });
    sock.sendConnected();
    sock.sendStart();
  });

  after(async () => {
    await rig.close();
  });

  it("starts the conversation with the call's dynamic variables and no overrides", async () => {
    const conv = await rig.agent.nextConversation(5000);
    await conv.waitFor((c) => c.initiation !== undefined, 5000, "initiation");
    const init = conv.initiation as Record<string, unknown>;
    assert.equal(init.type, "conversation_initiation_client_data");
    assert.deepEqual(init.dynamic_variables, {
      lang: "hi",
      campaign: "renewals",
      caller_number: "+919876543210",
      called_number: "+918047491899",
      call_sid: sock.callSid,
      stream_sid: sock.streamSid,
    });
    assert.equal(init.conversation_config_override, undefined);
    assert.equal(conv.received[0]?.type, "conversation_initiation_client_data", "init data must be first");
    // Signed-URL path: exactly one fetch for this call, and the key never went on the socket.
    assert.equal(rig.agent.signedUrlRequests.filter((r) => r.status === 200).length, 1);
    assert.ok(conv.query.conversation_signature);
  });

  it("forwards caller audio byte-exact and without batching", async () => {
    const conv = rig.agent.conversations[0];
    assert.ok(conv);
    await rig.bridge.logs.waitFor(
      (l) => l.some((x) => x.event === "agent_connected"),
      5000,
      "agent_connected",
    );
    const before = conv.userAudio().length;
    let chunks = 0;
    const off = conv.onEvent((e) => {
      if (e.kind === "received" && e.message.type === "user_audio_chunk") chunks++;
    });
    const sent: Buffer[] = [];
    for (let i = 0; i < 5; i++) {
      const frame = tone(440 + i * 100, 8000, 100);
      sent.push(frame);
      sock.sendMedia(frame);
      await sleep(20);
    }
    await conv.waitFor((c) => c.userAudio().length >= before + 8000, 3000, "caller audio");
    const got = conv.userAudio().subarray(before, before + 8000);
    assert.ok(got.equals(Buffer.concat(sent)), "passthrough must not alter a byte");
    off();
    assert.equal(chunks, 5, "one user_audio_chunk per Exotel frame");
    const connected = rig.bridge.logs.events("agent_connected")[0];
    assert.equal(connected?.caller_to_agent, "pcm_8000 passthrough");
  });

  it("answers pings at once with the same event_id", async () => {
    const conv = rig.agent.conversations[0];
    assert.ok(conv);
    const id = conv.ping();
    const isPong = (m: { type: string; message: unknown }) =>
      m.type === "pong" && (m.message as { event_id?: unknown }).event_id === id;
    await conv.waitFor((c) => c.received.some(isPong), 2000, "pong");
    await sleep(0);
    const pong = conv.pongs.find((p) => p.eventId === id);
    assert.ok(pong && (pong.rttMs ?? 0) < 100, `pong rtt ${pong?.rttMs}`);
  });

  it("re-frames agent audio onto Exotel's grid, paced at real time, with a mark at the end", async () => {
    const conv = rig.agent.conversations[0];
    assert.ok(conv);
    const startIdx = sock.received.length;
    const speech = tone(440, 8000, 1130); // 18,080 bytes: not a multiple of 3,200
    const eventId = conv.newEventId();
    // Bursty and misaligned like the real service: 5 chunks at once, odd sizes.
    const cuts = [0, 777, 5001, 9000, 14003, speech.length];
    for (let i = 0; i + 1 < cuts.length; i++) conv.sendAudio(speech.subarray(cuts[i], cuts[i + 1]), eventId);
    await sock.waitFor((f) => f.slice(startIdx).some((x) => x.event === "mark"), 5000, "mark");
    const frames = media(sock.received.slice(startIdx));
    for (const f of frames) {
      assert.equal(f.pcm.length % 320, 0, `frame ${f.pcm.length} not on the 20 ms grid`);
      assert.ok(f.pcm.length >= 3200 && f.pcm.length <= 100_000, `frame ${f.pcm.length} out of bounds`);
    }
    const all = Buffer.concat(frames.map((f) => f.pcm));
    assert.ok(all.subarray(0, speech.length).equals(speech), "agent audio must arrive intact and in order");
    assert.ok(
      all.subarray(speech.length).every((b) => b === 0),
      "only the last frame is padded, with silence",
    );
    assert.ok(all.length - speech.length < 3200, "padding stays under one minimum frame");
    // Pacing: never more than PLAYOUT_LEAD_MS (400) queued ahead of real time, plus scheduling slack.
    const t0 = frames[0]?.at ?? 0;
    let sentMs = 0;
    for (const f of frames) {
      const ahead = sentMs - (f.at - t0);
      assert.ok(ahead <= 400 + 40, `queued ${ahead.toFixed(0)} ms ahead at ${f.at.toFixed(0)}`);
      sentMs += f.pcm.length / 16;
    }
    assert.ok((frames.at(-1)?.at ?? 0) - t0 >= 600, "1.1 s of audio must not arrive in one burst");
    // Echo the mark: the bridge records that the caller heard it.
    const mark = sock.received.slice(startIdx).find((x) => x.event === "mark");
    assert.ok(mark, "mark received");
    const name = (mark.json as { mark: { name: string } }).mark.name;
    sock.sendMarkEcho(name);
    await rig.bridge.logs.waitFor(
      (l) => l.some((x) => x.event === "mark_played" && x.name === name),
      2000,
      "mark_played",
    );
  });

  it("closes the agent within a second when the caller hangs up, and logs one summary", async () => {
    const conv = rig.agent.conversations[0];
    assert.ok(conv);
    const t = performance.now();
    sock.sendStop("callended");
    sock.close();
    const closed = await conv.closed;
    assert.ok(performance.now() - t < 1000, "agent socket closed within a second");
    assert.equal(closed.by, "client");
    const summary = await rig.bridge.logs.summary();
    assert.equal(summary.end_reason, "caller_hangup");
    assert.equal(summary.ended_by, "caller");
    assert.equal(summary.call_sid, sock.callSid);
    // Masked by default (LOG_CALLER_NUMBERS); the agent still gets the full number.
    assert.equal(summary.from, "+91******3210");
    assert.equal(summary.conversation_id, conv.id);
    assert.equal(summary.interruptions, 0);
    assert.ok((summary.caller_audio_s as number) >= 0.5);
    assert.ok(
      Math.abs((summary.agent_audio_s as number) - 1.2) < 0.01,
      `agent audio ${summary.agent_audio_s}`,
    );
    assert.equal((summary.marks as { echoed: number }).echoed, 1);
    assert.equal(rig.bridge.logs.events("call_summary").length, 1);
    assert.equal(rig.bridge.bridge.calls.size, 0);
  });
});
