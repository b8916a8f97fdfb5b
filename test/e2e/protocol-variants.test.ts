/**
 * Every documented protocol variant through the real bridge, over real sockets, against the
 * stand-ins (docs/protocols.md): mu-law streams resampled and passed through, an encoding the bridge
 * cannot read, both tracks, flat DTMF with user_activity, silence notices, custom parameters on
 * `connected`, agent metadata without formats, MCP approvals by policy, and the counters on every
 * frame the bridge sends to Exotel.
 */
import assert from "node:assert/strict";
import type { AddressInfo } from "node:net";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { WebSocketServer } from "ws";
import { loadConfig } from "../../app/src/config.js";
import { mulawDecode, mulawEncode, silence, tone, toneAmplitude } from "../../scripts/lib/audio.js";
import {
  ExotelSocket,
  type ExotelSocketOptions,
  placeCall,
  startCall,
} from "../../scripts/lib/exotel-caller.js";
import type { AgentConversation, LocalAgentOptions } from "../../scripts/lib/local-agent.js";
import { API_KEY, type Rig, startRig } from "../support/bridge.js";

type Msg = Record<string, unknown>;

async function withRig(
  agent: LocalAgentOptions,
  env: Record<string, string>,
  fn: (rig: Rig) => Promise<void>,
): Promise<void> {
  const rig = await startRig(agent, env);
  try {
    await fn(rig);
  } finally {
    await rig.close();
  }
}

/** Opens a stream (connected + start) and waits for the agent's conversation to be set up. */
async function openCall(
  rig: Rig,
  options: Partial<ExotelSocketOptions> = {},
): Promise<{ sock: ExotelSocket; conv: AgentConversation }> {
  const sock = await ExotelSocket.connect({ url: rig.bridge.url, sampleRate: 8000, ...options });
  sock.sendConnected();
  sock.sendStart();
  const conv = await rig.agent.nextConversation(5000);
  await conv.waitFor((c) => c.metadataSent, 5000, "metadata");
  await rig.bridge.logs.waitFor((l) => l.some((x) => x.event === "agent_connected"), 5000, "agent_connected");
  return { sock, conv };
}

function mediaPayloads(sock: ExotelSocket): Buffer[] {
  return sock.received
    .filter((f) => f.event === "media")
    .map((f) => Buffer.from((f.json as { media: { payload: string } }).media.payload, "base64"));
}

async function hangUp(sock: ExotelSocket): Promise<void> {
  sock.sendStop();
  sock.close();
}

/** Sends `pcm` as 100 ms caller frames (the socket encodes them in the stream's encoding). */
function sendCaller(sock: ExotelSocket, pcm: Buffer, frameBytes: number): void {
  for (let off = 0; off < pcm.length; off += frameBytes) sock.sendMedia(pcm.subarray(off, off + frameBytes));
}

describe("mu-law streams", () => {
  it("mu-law 8 kHz stream with a pcm_16000 agent: resampled both ways, answered in mu-law", async () => {
    await withRig({ inputFormat: "pcm_16000", outputFormat: "pcm_16000" }, {}, async (rig) => {
      const { sock, conv } = await openCall(rig, { encoding: "mulaw" });
      const connected = rig.bridge.logs.events("agent_connected")[0];
      assert.equal(connected?.caller_to_agent, "ulaw_8000 -> pcm_16000");
      assert.equal(connected?.agent_to_caller, "pcm_16000 -> ulaw_8000");

      sendCaller(sock, tone(440, 1000, 8000, 0.5), 1600);
      await conv.waitFor((c) => c.userAudioMs >= 900, 5000, "caller audio at the agent");
      const up = conv.userAudioPcm();
      assert.ok(toneAmplitude(up, 16000, 440, 3200, 25600) > 0.3, "the caller's tone at 16 kHz");

      conv.sendAudio(tone(600, 800, 16000, 0.5), conv.newEventId());
      await sock.waitFor((f) => f.some((x) => x.event === "mark"), 5000, "agent audio and its mark");
      const frames = mediaPayloads(sock);
      for (const f of frames) {
        assert.equal(f.length % 320, 0, `mu-law frame of ${f.length} bytes is off the grid`);
        assert.ok(f.length >= 3200, `mu-law frame of ${f.length} bytes is under the minimum`);
      }
      const down = Buffer.concat(frames);
      // 800 ms at 8 kHz mu-law: 6,400 bytes (plus at most one padded tail).
      assert.ok(down.length >= 6400 && down.length <= 6400 + 3200, `${down.length} bytes`);
      assert.ok(toneAmplitude(mulawDecode(down), 8000, 600, 1600, 11200) > 0.3, "the agent's tone in mu-law");
      await hangUp(sock);
      const summary = await rig.bridge.logs.summary();
      assert.deepEqual(summary.bad_frames, { exotel: 0, agent: 0 });
    });
  });

  it("mu-law stream with a ulaw_8000 agent: bytes pass through untouched both ways", async () => {
    await withRig({ inputFormat: "ulaw_8000", outputFormat: "ulaw_8000" }, {}, async (rig) => {
      const { sock, conv } = await openCall(rig, { encoding: "mulaw" });
      const connected = rig.bridge.logs.events("agent_connected")[0];
      assert.equal(connected?.caller_to_agent, "ulaw_8000 passthrough");
      assert.equal(connected?.agent_to_caller, "ulaw_8000 passthrough");

      const callerPcm = Buffer.concat([tone(440, 500, 8000, 0.5), tone(950, 500, 8000, 0.3)]);
      sendCaller(sock, callerPcm, 1600);
      const expectedUp = mulawEncode(callerPcm);
      await conv.waitFor((c) => c.userAudio().length >= expectedUp.length, 5000, "caller bytes");
      assert.ok(conv.userAudio().equals(expectedUp), "caller mu-law bytes reach the agent unchanged");

      // 6,500 bytes: two full 3,200-byte frames and a 100-byte tail padded with mu-law silence (0xFF).
      const agentBytes = mulawEncode(tone(700, 820, 8000, 0.4)).subarray(0, 6500);
      assert.equal(agentBytes.length, 6500);
      conv.sendAudioBytes(agentBytes, conv.newEventId());
      await sock.waitFor((f) => f.some((x) => x.event === "mark"), 5000, "agent audio and its mark");
      const down = Buffer.concat(mediaPayloads(sock));
      assert.ok(down.subarray(0, 6500).equals(agentBytes), "agent mu-law bytes reach Exotel unchanged");
      assert.equal(down.length % 320, 0);
      assert.ok(
        down.subarray(6500).every((b) => b === 0xff),
        "the tail is padded with mu-law silence",
      );
      await hangUp(sock);
    });
  });

  it("an encoding the bridge cannot read ends that call only, with the reason logged", async () => {
    await withRig({}, {}, async (rig) => {
      const good = await openCall(rig, { callSid: "good-call" });
      const bad = await ExotelSocket.connect({ url: rig.bridge.url, sampleRate: 8000, callSid: "bad-call" });
      bad.sendConnected();
      bad.sendRaw(
        JSON.stringify({
          event: "start",
          sequence_number: "1",
          stream_sid: "bad-stream",
          start: {
            stream_sid: "bad-stream",
            call_sid: "bad-call",
            account_sid: "acct",
            from: "+919876543210",
            to: "+918047491899",
            custom_parameters: {},
            media_format: { encoding: "audio/opus", sample_rate: "48000" },
          },
        }),
      );
      const { code } = await bad.closed;
      assert.equal(code, 1000);
      const logs = rig.bridge.logs;
      await logs.waitFor(
        (l) => l.some((x) => x.event === "call_summary" && x.end_reason === "protocol_error"),
        5000,
        "the refused call's summary",
      );
      const refused = logs.events("unsupported_stream_encoding");
      assert.equal(refused.length, 1);
      assert.match(String(refused[0]?.detail), /audio\/opus.*neither PCM16 nor mu-law/);
      const summary = logs.events("call_summary").find((s) => s.end_reason === "protocol_error");
      assert.match(String(summary?.end_detail), /unsupported stream encoding/);

      // The other call is untouched: audio still flows both ways.
      sendCaller(good.sock, tone(440, 500, 8000, 0.5), 1600);
      await good.conv.waitFor((c) => c.userAudioMs >= 400, 5000, "the good call's audio");
      good.conv.sendAudio(tone(600, 400, 16000, 0.5), good.conv.newEventId());
      await good.sock.waitFor((f) => f.some((x) => x.event === "mark"), 5000, "the good call's playout");
      assert.equal(logs.events("call_summary").length, 1, "only the refused call has ended");
      await hangUp(good.sock);
    });
  });
});

describe("Exotel stream details", () => {
  it("both tracks: outbound frames are ignored, inbound audio still reaches the agent", async () => {
    await withRig({ inputFormat: "pcm_8000", outputFormat: "pcm_8000" }, {}, async (rig) => {
      const { sock, conv } = await openCall(rig, { tracks: "both" });
      const caller = tone(440, 1000, 8000, 0.5);
      for (let off = 0; off < caller.length; off += 1600) {
        sock.sendMedia(caller.subarray(off, off + 1600));
        // What the caller hears, loud, on the outbound track: must never reach the agent.
        sock.sendOutboundMedia(tone(1500, 100, 8000, 0.8));
      }
      await conv.waitFor((c) => c.userAudioMs >= 1000, 5000, "caller audio at the agent");
      await sleep(200);
      assert.equal(Math.round(conv.userAudioMs), 1000, "exactly the inbound audio");
      const up = conv.userAudioPcm();
      assert.ok(toneAmplitude(up, 8000, 440, 0, up.length) > 0.3);
      assert.ok(toneAmplitude(up, 8000, 1500, 0, up.length) < 0.01, "no outbound audio mixed in");
      await hangUp(sock);
      const summary = await rig.bridge.logs.summary();
      assert.deepEqual(summary.bad_frames, { exotel: 0, agent: 0 });
      assert.equal(rig.bridge.logs.events("bad_frame").length, 0);
    });
  });

  it("flat DTMF reaches the agent, with one user_activity per digit before it", async () => {
    await withRig({}, { DTMF_FLUSH_MS: "300" }, async (rig) => {
      const { sock, conv } = await openCall(rig, { dtmfStyle: "flat" });
      for (const d of ["1", "2", "#"]) sock.sendDtmf(d);
      await conv.waitFor((c) => c.userMessages.length > 0, 5000, "the digits at the agent");
      assert.deepEqual(conv.userMessages, ["12"], "# ends the entry");
      assert.equal(conv.userActivity, 3);
      const types = conv.received.map((m) => m.type).filter((t) => t !== "user_audio_chunk");
      const firstMessage = types.indexOf("user_message");
      assert.equal(types.slice(0, firstMessage).filter((t) => t === "user_activity").length, 3);
      await hangUp(sock);
      assert.deepEqual((await rig.bridge.logs.summary()).bad_frames, { exotel: 0, agent: 0 });
    });
  });

  it("silence notices are accepted without counting as bad frames or logging", async () => {
    await withRig({ inputFormat: "pcm_8000", outputFormat: "pcm_8000" }, {}, async (rig) => {
      const { sock, conv } = await openCall(rig);
      const linesBefore = rig.bridge.logs.lines.length;
      for (let i = 0; i < 5; i++) sock.sendJson(sock.frame("silence"));
      sendCaller(sock, silence(300, 8000), 1600);
      await conv.waitFor((c) => c.userAudioMs >= 300, 5000, "caller audio after the notices");
      const after = rig.bridge.logs.lines.slice(linesBefore);
      assert.deepEqual(
        after.filter((l) => JSON.stringify(l).includes("silence")),
        [],
        "no log line about the notices",
      );
      await hangUp(sock);
      assert.deepEqual((await rig.bridge.logs.summary()).bad_frames, { exotel: 0, agent: 0 });
    });
  });

  it("custom parameters on connected reach the agent as dynamic variables; start's win", async () => {
    await withRig({}, {}, async (rig) => {
      const sock = await ExotelSocket.connect({
        url: rig.bridge.url,
        sampleRate: 8000,
        customParameters: { language: "en" },
      });
      sock.sendRaw(
        JSON.stringify({ event: "connected", custom_parameters: { customer_tier: "gold", language: "hi" } }),
      );
      sock.sendStart();
      const conv = await rig.agent.nextConversation(5000);
      await conv.waitFor((c) => c.initiation !== undefined, 5000, "initiation");
      const vars = conv.initiation?.dynamic_variables as Msg;
      assert.equal(vars.customer_tier, "gold");
      assert.equal(vars.language, "en", "start's custom parameters win over connected's");
      await hangUp(sock);
    });
  });
});

describe("agent protocol details", () => {
  it("metadata without formats: the call runs at pcm_16000 with one warning", async () => {
    await withRig(
      { announceFormats: false, inputFormat: "pcm_16000", outputFormat: "pcm_16000" },
      {},
      async (rig) => {
        const { sock, conv } = await openCall(rig);
        const logs = rig.bridge.logs;
        const warnings = logs.events("agent_formats_assumed");
        assert.equal(warnings.length, 1);
        assert.equal(warnings[0]?.severity, "WARNING");
        assert.equal(warnings[0]?.input, "pcm_16000");
        assert.equal(logs.events("agent_connected")[0]?.caller_to_agent, "pcm_8000 -> pcm_16000");
        sendCaller(sock, tone(440, 600, 8000, 0.5), 1600);
        await conv.waitFor((c) => c.userAudioMs >= 500, 5000, "caller audio resampled to 16 kHz");
        assert.ok(toneAmplitude(conv.userAudioPcm(), 16000, 440, 3200, 16000) > 0.3);
        await hangUp(sock);
        const summary = await logs.summary();
        assert.equal(summary.end_reason, "caller_hangup");
      },
    );
  });

  it("an MCP tool call awaiting approval is denied by default, with the decision logged", async () => {
    await withRig({}, {}, async (rig) => {
      const { sock, conv } = await openCall(rig);
      const approved = await conv.requestMcpApproval("refund_order", { order: "4567" }, 5);
      assert.equal(approved, false);
      assert.equal(conv.mcpApprovals.length, 1, "answered, not left to time out");
      assert.equal(conv.mcpApprovals[0]?.is_approved, false);
      const decision = rig.bridge.logs.events("mcp_tool_approval");
      assert.equal(decision.length, 1);
      assert.equal(decision[0]?.approved, false);
      assert.equal(decision[0]?.reason, "policy_deny");
      assert.equal(decision[0]?.tool, "refund_order");
      await hangUp(sock);
    });
  });

  it("ELEVENLABS_MCP_APPROVAL=allow:<tool> approves that tool only", async () => {
    await withRig({}, { ELEVENLABS_MCP_APPROVAL: "allow:lookup_order" }, async (rig) => {
      const { sock, conv } = await openCall(rig);
      assert.equal(await conv.requestMcpApproval("lookup_order", {}, 5), true);
      assert.equal(await conv.requestMcpApproval("refund_order", {}, 5), false);
      assert.deepEqual(
        conv.mcpApprovals.map((a) => a.is_approved),
        [true, false],
      );
      assert.deepEqual(
        rig.bridge.logs.events("mcp_tool_approval").map((d) => d.reason),
        ["tool_listed", "tool_not_listed"],
      );
      await hangUp(sock);
    });
  });

  it("configuration: the MCP policy is validated, the Singapore region accepted", () => {
    const base = { ELEVENLABS_AGENT_ID: "agent_test", ELEVENLABS_API_KEY: API_KEY };
    assert.equal(loadConfig(base).agent.mcpApproval.mode, "deny");
    assert.equal(loadConfig({ ...base, ELEVENLABS_MCP_APPROVAL: "allow" }).agent.mcpApproval.mode, "allow");
    assert.throws(
      () => loadConfig({ ...base, ELEVENLABS_MCP_APPROVAL: "sometimes" }),
      /ELEVENLABS_MCP_APPROVAL/,
    );
    assert.equal(loadConfig({ ...base, ELEVENLABS_REGION: "singapore" }).agent.region, "singapore");
  });
});

describe("counters on what the bridge sends", () => {
  it("every frame has an increasing sequence_number; media frames count chunks and audio time", async () => {
    await withRig({ inputFormat: "pcm_8000", outputFormat: "pcm_8000" }, {}, async (rig) => {
      const call = startCall({
        url: rig.bridge.url,
        sampleRate: 8000,
        audio: [{ pcm: tone(440, 3000, 8000, 0.5), sampleRate: 8000 }],
        maxDurationMs: 20_000,
      });
      const conv = await rig.agent.nextConversation(5000);
      await conv.waitFor((c) => c.metadataSent, 5000, "metadata");
      // A response, a barge-in that clears it, then a second response played to its mark.
      conv.sendAudio(tone(600, 2000, 8000, 0.5), conv.newEventId());
      await sleep(700);
      conv.interrupt(conv.currentResponse?.eventId ?? 1);
      conv.sendAudio(tone(800, 700, 8000, 0.5), conv.newEventId());
      await sleep(2500);
      call.hangup();
      const { report } = await call.result;
      assert.equal(report.frames.violations, 0, JSON.stringify(report.frames.violationSamples));
      assert.ok((report.frames.otherEvents.clear ?? 0) >= 1, "a clear was sent");
      assert.ok((report.frames.otherEvents.mark ?? 0) >= 1, "a mark was sent");
    });
  });

  it("the simulator flags counters that do not add up", async () => {
    const wss = new WebSocketServer({ port: 0, host: "127.0.0.1" });
    await new Promise((r) => wss.once("listening", r));
    wss.on("connection", (ws) => {
      ws.on("message", (d) => {
        const msg = JSON.parse(String(d)) as Msg;
        if (msg.event !== "start") return;
        const sid = JSON.stringify((msg.start as Msg).stream_sid);
        const frame = (seq: number, chunk: number, ts: number) =>
          `{"event":"media","sequence_number":"${seq}","stream_sid":${sid},"media":{"chunk":"${chunk}","timestamp":"${ts}","payload":"${Buffer.alloc(3200).toString("base64")}"}}`;
        ws.send(frame(1, 1, 0));
        ws.send(frame(1, 3, 50)); // repeated sequence, skipped chunk, wrong timestamp (200 expected)
      });
    });
    try {
      const { report } = await placeCall({
        url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/media`,
        audio: [{ pcm: silence(300, 8000), sampleRate: 8000 }],
        hangupAfterMs: 800,
      });
      const problems = report.frames.violationSamples.map((v) => v.problem).join("\n");
      assert.equal(report.frames.violations, 3, problems);
      assert.match(problems, /sequence_number/);
      assert.match(problems, /media\.chunk/);
      assert.match(problems, /media\.timestamp/);
    } finally {
      await new Promise<void>((r) => wss.close(() => r()));
    }
  });
});
