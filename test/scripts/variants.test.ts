/**
 * Protocol variants the stand-ins can produce, checked on the wire: a mu-law Exotel stream with
 * both tracks and flat DTMF (against a bare WebSocket server standing in for the bridge), and an
 * agent that leaves the audio formats out of its metadata or asks approval for an MCP tool call
 * (against a bare WebSocket client). Then the same variants through the real bridge.
 */
import assert from "node:assert/strict";
import type { AddressInfo } from "node:net";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { WebSocket, WebSocketServer } from "ws";
import { mulawDecode, silence, tone, toneAmplitude } from "../../scripts/lib/audio.js";
import { ExotelSocket, placeCall } from "../../scripts/lib/exotel-caller.js";
import { type LocalAgentOptions, startLocalAgent } from "../../scripts/lib/local-agent.js";
import { type Rig, startRig } from "../support/bridge.js";

type Msg = Record<string, unknown>;

/** A bridge stand-in: records every frame; echoes inbound media back as media (mu-law as it came). */
async function echoServer() {
  const got: Msg[] = [];
  const wss = new WebSocketServer({ port: 0, host: "127.0.0.1" });
  await new Promise((r) => wss.once("listening", r));
  wss.on("connection", (ws) => {
    ws.on("message", (d) => {
      const msg = JSON.parse(String(d)) as Msg;
      got.push(msg);
      const media = msg.media as { track?: string; payload?: string } | undefined;
      if (msg.event === "media" && media?.track !== "outbound")
        ws.send(
          JSON.stringify({ event: "media", stream_sid: msg.stream_sid, media: { payload: media?.payload } }),
        );
    });
  });
  const port = (wss.address() as AddressInfo).port;
  return {
    got,
    url: `ws://127.0.0.1:${port}/media`,
    close: () => new Promise<void>((r) => wss.close(() => r())),
  };
}

describe("Exotel-side variants on the wire", () => {
  it("mu-law stream, both tracks, flat DTMF: what is sent, and mu-law played back", async () => {
    const server = await echoServer();
    try {
      const caller = Buffer.concat([silence(300, 8000), tone(440, 600, 8000, 0.5), silence(900, 8000)]);
      const { report, audio } = await placeCall({
        url: server.url,
        encoding: "mulaw",
        tracks: "both",
        dtmfStyle: "flat",
        audio: [{ pcm: caller, sampleRate: 8000 }],
        dtmf: [{ atMs: 500, digits: "5" }],
        hangupAfterMs: 1800,
      });
      const start = server.got.find((m) => m.event === "start")?.start as Msg;
      assert.deepEqual(start.media_format, {
        encoding: "audio/x-mulaw;rate=8000",
        sample_rate: "8000",
        bit_rate: "8",
      });
      const media = server.got.filter((m) => m.event === "media").map((m) => m.media as Msg);
      const inbound = media.filter((m) => m.track === "inbound");
      const outbound = media.filter((m) => m.track === "outbound");
      assert.ok(inbound.length >= 15, `${inbound.length} inbound frames`);
      assert.equal(inbound.length + outbound.length, media.length, "every frame names its track");
      assert.ok(Math.abs(outbound.length - inbound.length) <= 1, "one outbound frame per inbound frame");
      // 100 ms of mu-law at 8 kHz is 800 bytes; decoded, the caller's tone is there.
      const up = inbound.map((m) => Buffer.from(String(m.payload), "base64"));
      assert.ok(up.every((b) => b.length === 800));
      const upPcm = mulawDecode(Buffer.concat(up));
      assert.ok(toneAmplitude(upPcm, 8000, 440, 400 * 16, 800 * 16) > 0.3, "the caller tone, mu-law encoded");
      // Outbound frames carry what the caller heard: the echo of the tone, once it played.
      const down = Buffer.concat(outbound.map((m) => mulawDecode(Buffer.from(String(m.payload), "base64"))));
      assert.ok(toneAmplitude(down, 8000, 440, 0, down.length) > 0.05, "the echo is on the outbound track");
      assert.deepEqual(
        server.got.filter((m) => m.event === "dtmf"),
        [{ event: "dtmf", digit: "5" }],
      );
      // The echoed mu-law frames obey the rules and are decoded into the recording.
      assert.equal(report.frames.violations, 0, JSON.stringify(report.frames.violationSamples));
      assert.ok(toneAmplitude(audio.agent, 8000, 440, 0, audio.agent.length) > 0.05);
    } finally {
      await server.close();
    }
  });

  it("mu-law is for 8 kHz streams only", async () => {
    await assert.rejects(
      ExotelSocket.connect({ url: "ws://127.0.0.1:9/media", sampleRate: 16000, encoding: "mulaw" }),
      /8000 Hz only/,
    );
  });
});

/** A bare agent client: sends initiation data, collects what the agent sends. */
async function agentClient(options: LocalAgentOptions) {
  const agent = await startLocalAgent({ mode: "manual", pingIntervalMs: 0, ...options });
  const ws = new WebSocket(
    `${agent.url.replace("http", "ws")}/v1/convai/conversation?agent_id=local-test-agent`,
  );
  const got: Msg[] = [];
  ws.on("message", (d) => got.push(JSON.parse(String(d)) as Msg));
  await new Promise((r) => ws.once("open", r));
  ws.send(JSON.stringify({ type: "conversation_initiation_client_data" }));
  const conv = await agent.nextConversation(5000);
  await conv.waitFor((c) => c.metadataSent, 5000, "metadata");
  return {
    agent,
    conv,
    ws,
    got,
    close: async () => {
      ws.close();
      await agent.close();
    },
  };
}

describe("agent-side variants on the wire", () => {
  it("metadata without audio formats when asked", async () => {
    const c = await agentClient({ announceFormats: false });
    try {
      await sleep(50);
      const meta = c.got.find((m) => m.type === "conversation_initiation_metadata");
      const event = meta?.conversation_initiation_metadata_event as Msg;
      assert.equal(typeof event.conversation_id, "string");
      assert.equal("agent_output_audio_format" in event, false);
      assert.equal("user_input_audio_format" in event, false);
    } finally {
      await c.close();
    }
  });

  it("an MCP tool call awaits the client's approval: approved runs it, denied or unanswered does not", async () => {
    const c = await agentClient({});
    try {
      const answer = (approve: boolean) => {
        const ask = c.got.filter((m) => m.type === "mcp_tool_call").at(-1)?.mcp_tool_call as Msg;
        c.ws.send(
          JSON.stringify({
            type: "mcp_tool_approval_result",
            tool_call_id: ask.tool_call_id,
            is_approved: approve,
          }),
        );
      };
      const waitAsk = async (n: number) => {
        while (
          c.got.filter((m) => (m.mcp_tool_call as Msg | undefined)?.state === "awaiting_approval").length < n
        )
          await sleep(10);
      };
      const approved = c.conv.requestMcpApproval("lookup_order", { order: "4567" });
      await waitAsk(1);
      const ask = c.got.find((m) => m.type === "mcp_tool_call")?.mcp_tool_call as Msg;
      assert.equal(ask.tool_name, "lookup_order");
      assert.deepEqual(ask.parameters, { order: "4567" });
      assert.equal(ask.approval_timeout_secs, 30);
      answer(true);
      assert.equal(await approved, true);
      await sleep(50);
      const states = c.got
        .filter((m) => m.type === "mcp_tool_call")
        .map((m) => (m.mcp_tool_call as Msg).state);
      assert.deepEqual(states, ["awaiting_approval", "loading", "success"]);

      const denied = c.conv.requestMcpApproval("refund", {});
      await waitAsk(2);
      answer(false);
      assert.equal(await denied, false);
      assert.equal(c.conv.mcpApprovals.length, 2);

      assert.equal(
        await c.conv.requestMcpApproval("ignored", {}, 0.2),
        false,
        "no answer within the timeout",
      );
      assert.equal(c.got.filter((m) => (m.mcp_tool_call as Msg | undefined)?.state === "success").length, 1);
    } finally {
      await c.close();
    }
  });
});

describe("the variants through the bridge", () => {
  async function withRig(agent: LocalAgentOptions, fn: (rig: Rig) => Promise<void>): Promise<void> {
    const rig = await startRig({ outputFormat: "pcm_8000", inputFormat: "pcm_8000", ...agent });
    try {
      await fn(rig);
    } finally {
      await rig.close();
    }
  }

  it("a mu-law stream with both tracks and flat DTMF: caller audio, agent audio and digits get through", async () => {
    await withRig({}, async (rig) => {
      const sock = await ExotelSocket.connect({
        url: rig.bridge.url,
        sampleRate: 8000,
        encoding: "mulaw",
        tracks: "both",
        dtmfStyle: "flat",
      });
      sock.sendConnected();
      sock.sendStart();
      const conv = await rig.agent.nextConversation(5000);
      await conv.waitFor((c) => c.metadataSent, 5000, "metadata");
      const callerTone = tone(440, 1000, 8000, 0.5);
      for (let off = 0; off < callerTone.length; off += 1600) {
        sock.sendMedia(callerTone.subarray(off, off + 1600));
        sock.sendOutboundMedia(Buffer.alloc(1600));
      }
      await conv.waitFor((c) => c.userAudioMs >= 900, 5000, "caller audio at the agent");
      assert.ok(
        toneAmplitude(conv.userAudioPcm(), 8000, 440, 1600, 12800) > 0.3,
        "the caller's tone, decoded",
      );
      assert.ok(conv.userAudioMs < 1200, "outbound frames are not caller audio");
      conv.sendAudio(tone(600, 800, 8000, 0.5), conv.newEventId());
      await sock.waitFor((f) => f.some((x) => x.event === "mark"), 5000, "agent audio and its mark");
      const payload = Buffer.concat(
        sock.received
          .filter((x) => x.event === "media")
          .map((x) => Buffer.from((x.json as { media: { payload: string } }).media.payload, "base64")),
      );
      assert.ok(toneAmplitude(mulawDecode(payload), 8000, 600, 0, 6400) > 0.3, "mu-law back to the caller");
      sock.sendDtmf("5");
      sock.sendDtmf("#");
      await conv.waitFor((c) => c.userMessages.includes("5"), 5000, "the digit at the agent");
      sock.sendStop();
      sock.close();
    });
  });

  it("an agent whose metadata names no formats is heard as pcm_16000 (the documented default)", async () => {
    await withRig(
      { announceFormats: false, outputFormat: "pcm_16000", inputFormat: "pcm_16000" },
      async (rig) => {
        const sock = await ExotelSocket.connect({ url: rig.bridge.url, sampleRate: 8000 });
        sock.sendConnected();
        sock.sendStart();
        const conv = await rig.agent.nextConversation(5000);
        await conv.waitFor((c) => c.metadataSent, 5000, "metadata");
        conv.sendAudio(tone(440, 1000, 16000), conv.newEventId());
        await sock.waitFor((f) => f.some((x) => x.event === "mark"), 5000, "agent audio");
        const pcm = Buffer.concat(
          sock.received
            .filter((x) => x.event === "media")
            .map((x) => Buffer.from((x.json as { media: { payload: string } }).media.payload, "base64")),
        );
        // 1 s at 16 kHz resampled to the 8 kHz stream: about 16,000 bytes, still 440 Hz.
        assert.ok(pcm.length >= 15_000 && pcm.length <= 20_000, `${pcm.length} bytes`);
        assert.ok(toneAmplitude(pcm, 8000, 440, 1600, 12800) > 0.3);
        sock.sendStop();
        sock.close();
      },
    );
  });

  it("an MCP tool call awaiting approval gets an answer from the bridge", async () => {
    await withRig({}, async (rig) => {
      const sock = await ExotelSocket.connect({ url: rig.bridge.url, sampleRate: 8000 });
      sock.sendConnected();
      sock.sendStart();
      const conv = await rig.agent.nextConversation(5000);
      await conv.waitFor((c) => c.metadataSent, 5000, "metadata");
      await conv.requestMcpApproval("lookup_order", { order: "4567" }, 3);
      assert.equal(conv.mcpApprovals.length, 1, "the bridge answered with mcp_tool_approval_result");
      sock.sendStop();
      sock.close();
    });
  });
});
