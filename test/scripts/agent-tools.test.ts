/**
 * Trying client tools and call endings locally: the scripted local test agent calls
 * `transfer_to_human` (or any tool) through the real bridge with call control, the way
 * `npm run agent -- --transfer sales` does, and the simulated caller hangs up by itself once
 * its script is over and the agent has gone quiet.
 */
import assert from "node:assert/strict";
import type { AddressInfo } from "node:net";
import { describe, it } from "node:test";
import { WebSocketServer } from "ws";
import { silence, tone } from "../../scripts/lib/audio.js";
import { placeCall } from "../../scripts/lib/exotel-caller.js";
import { startLocalAgent } from "../../scripts/lib/local-agent.js";
import { agentEnv, request, startBridge } from "../control/harness.js";

/** A bridge stand-in that plays `ms` of agent audio when the stream starts, then stays silent. */
async function fakeAgentlessBridge(ms: number) {
  const wss = new WebSocketServer({ port: 0, host: "127.0.0.1" });
  await new Promise((r) => wss.once("listening", r));
  wss.on("connection", (ws) => {
    ws.on("message", (d) => {
      const msg = JSON.parse(String(d)) as { event?: string; stream_sid?: string };
      if (msg.event !== "start") return;
      const payload = Buffer.alloc(Math.round((ms * 8000) / 1000) * 2).toString("base64");
      ws.send(JSON.stringify({ event: "media", stream_sid: msg.stream_sid, media: { payload } }));
    });
  });
  const port = (wss.address() as AddressInfo).port;
  return {
    url: `ws://127.0.0.1:${port}/media`,
    close: () => new Promise<void>((r) => wss.close(() => r())),
  };
}

const WEBHOOK_TOKEN = "local-webhook-token-0123456789";

describe("client tools from the local test agent", () => {
  it("a scripted transfer_to_human with a team goes through the bridge: stream closed, Passthru 200, Connect to the team", async () => {
    const agent = await startLocalAgent({
      mode: "script",
      outputFormat: "pcm_8000",
      inputFormat: "pcm_8000",
      pingIntervalMs: 0,
      audioSpeedup: Number.POSITIVE_INFINITY,
      toolCalls: [{ afterReplies: 0, name: "transfer_to_human", parameters: { team: "sales" } }],
    });
    const b = await startBridge({
      ...agentEnv(agent),
      TRANSFER_NUMBERS: "default=+918000000001,sales=+918000000002",
      // Call control's /exotel/* routes always need a credential; the applets carry it as ?token=.
      EXOTEL_WEBHOOK_TOKEN: WEBHOOK_TOKEN,
    });
    try {
      const convP = agent.nextConversation(10_000);
      const { report } = await placeCall({
        url: b.wsUrl,
        callSid: "CAlocalxfer01",
        audio: [{ pcm: silence(500, 8000), sampleRate: 8000 }],
        maxDurationMs: 30_000,
      });
      const conv = await convP;
      // The greeting first, then the tool: the bridge answers it and closes the stream once the
      // agent has finished speaking.
      assert.equal(
        report.end.by,
        "bridge",
        `ended by ${report.end.by} (${report.end.cause ?? report.end.reason})`,
      );
      assert.equal(conv.toolResults.length, 1);
      const result = conv.toolResults[0] as { result?: unknown; is_error?: unknown };
      assert.equal(result.is_error, false);
      assert.match(String(result.result), /sales team/);
      assert.ok(
        conv.sent.some((m) => m.type === "client_tool_call"),
        "the agent sent client_tool_call",
      );
      const pass = await request(`${b.httpUrl}/exotel/passthru?CallSid=CAlocalxfer01&token=${WEBHOOK_TOKEN}`);
      assert.equal(pass.status, 200);
      assert.equal(pass.text, "transfer");
      const conn = await request(`${b.httpUrl}/exotel/connect?CallSid=CAlocalxfer01&token=${WEBHOOK_TOKEN}`);
      assert.deepEqual((conn.json as { destination?: unknown }).destination, { numbers: ["+918000000002"] });
    } finally {
      await b.close();
      await agent.close();
    }
  });

  it("callTool resolves with the client's answer, an unknown tool's as an error", async () => {
    const agent = await startLocalAgent({
      mode: "manual",
      outputFormat: "pcm_8000",
      inputFormat: "pcm_8000",
    });
    const b = await startBridge(agentEnv(agent));
    try {
      const call = placeCall({
        url: b.wsUrl,
        audio: [{ pcm: tone(440, 300, 8000), sampleRate: 8000 }],
        hangupAfterMs: 4000,
      });
      const conv = await agent.nextConversation(10_000);
      await conv.waitFor((c) => c.metadataSent, 5000, "metadata");
      const answer = await conv.callTool("no_such_tool", { x: 1 }, 5000);
      assert.equal(answer.isError, true);
      assert.equal(typeof answer.toolCallId, "string");
      await call;
    } finally {
      await b.close();
      await agent.close();
    }
  });
});

describe("the simulated caller hangs up when the conversation is over", () => {
  it("with idleHangupMs: after its audio, once the agent has been silent that long", async () => {
    // The fake bridge plays 400 ms of agent audio at start and nothing after.
    const b = await fakeAgentlessBridge(400);
    try {
      const { report } = await placeCall({
        url: b.url,
        audio: [{ pcm: tone(440, 1000, 8000), sampleRate: 8000 }],
        idleHangupMs: 800,
        maxDurationMs: 30_000,
      });
      assert.equal(report.end.by, "caller");
      assert.equal(report.end.cause, "idle");
      assert.ok(report.ok, report.failures.join("; "));
      // Audio ends at 1.0 s (sent by 1.1 s); idle from then: at least 1.9 s, well before the 30 s limit.
      assert.ok(
        report.durationMs >= 1800 && report.durationMs < 10_000,
        `hung up at ${report.durationMs} ms`,
      );
    } finally {
      await b.close();
    }
  });
});
