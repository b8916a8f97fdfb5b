/**
 * The call observer over the real legs and real sockets: a simulated Exotel caller and the local
 * test agent talk through a Call, and the observer sees the call start, the agent connect, the
 * transcript lines, the response with its turn latency, a barge-in, a digit and the summary, in
 * that order. An observer that throws is logged and the call goes on.
 */
import assert from "node:assert/strict";
import type { AddressInfo } from "node:net";
import { describe, it } from "node:test";
import { WebSocketServer } from "ws";
import { Call } from "../../../app/src/call/call.js";
import type { CallObserver } from "../../../app/src/call/observer.js";
import { loadConfig } from "../../../app/src/config.js";
import { ExotelSocket } from "../../../scripts/lib/exotel-caller.js";
import { startLocalAgent } from "../../../scripts/lib/local-agent.js";
import { LogCapture } from "../../support/bridge.js";
import { tone } from "../../support/dsp.js";
import { callDeps } from "./call-deps.js";

const API_KEY = "test-xi-key-0123456789";

async function until(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe("CallObserver", () => {
  it("sees a call's events in order, from the real legs", async () => {
    const agent = await startLocalAgent({ apiKey: API_KEY, mode: "manual", pingIntervalMs: 0 });
    const config = loadConfig({
      LOG_LEVEL: "debug",
      ELEVENLABS_AGENT_ID: agent.agentIds[0] as string,
      ELEVENLABS_API_KEY: API_KEY,
      ELEVENLABS_BASE_URL: agent.url,
      DTMF_MODE: "contextual_update",
      // The test paces itself on transcript lines, which only this setting writes.
      LOG_TRANSCRIPTS: "lines",
    });
    const logs = new LogCapture();
    const seen: string[] = [];
    let latency: number | undefined;
    let endedReason = "";
    const observer: CallObserver = {
      callStarted: (e) => seen.push(`started ${e.callSid} ${e.from}->${e.to} ${e.sampleRate}`),
      agentConnected: (e) => seen.push(`agent ${e.agentInputFormat}/${e.agentOutputFormat}`),
      transcript: (e) => seen.push(`${e.role}: ${e.text}`),
      responseStarted: (e) => {
        latency = e.turnLatencyMs;
        seen.push("response");
        throw new Error("a careless subscriber");
      },
      interruption: () => seen.push("interruption"),
      dtmf: (e) => seen.push(`dtmf ${e.digit}`),
      callEnded: (e) => {
        endedReason = e.summary.end_reason;
        seen.push("ended");
      },
    };
    const calls: Call[] = [];
    const closed = new Promise<void>((resolve) => {
      const wss = new WebSocketServer({ port: 0, host: "127.0.0.1" });
      wss.on("connection", (ws) => {
        calls.push(
          new Call(
            ws,
            { query: {}, sampleRate: 8000, remoteAddress: "127.0.0.1" },
            callDeps(config, logs, {
              onClosed: () => {
                wss.close();
                resolve();
              },
              hooks: {},
              observer,
            }),
          ),
        );
      });
      wss.on("listening", () => {
        const port = (wss.address() as AddressInfo).port;
        void drive(`ws://127.0.0.1:${port}/media`);
      });
    });

    async function drive(url: string): Promise<void> {
      const sock = await ExotelSocket.connect({ url, sampleRate: 8000, query: {} });
      sock.sendConnected();
      sock.sendStart();
      const conv = await agent.nextConversation(5000);
      await logs.waitFor((l) => l.some((x) => x.event === "agent_connected"), 5000, "agent_connected");
      // The caller speaks (half a second of tone) and falls silent: the turn latency runs from here.
      sock.sendMedia(tone(300, 8000, 500));
      sock.sendMedia(Buffer.alloc(1600));
      conv.sendUserTranscript("hello", conv.newEventId());
      // The observer, not the log: transcript lines stay out of the logs by default (LOG_TRANSCRIPTS).
      await until(() => seen.includes("user: hello"), 5000, "user transcript");
      const id = conv.newEventId();
      conv.sendAgentResponse("Hi there", id);
      conv.sendAudio(tone(300, 8000, 2000), id);
      await sock.waitFor((f) => f.some((x) => x.event === "media"), 3000, "agent audio");
      conv.interrupt(id);
      await sock.waitFor((f) => f.some((x) => x.event === "clear"), 3000, "clear");
      sock.sendDtmf("7");
      await logs.waitFor((l) => l.some((x) => x.event === "dtmf"), 3000, "dtmf");
      sock.sendStop();
      sock.close();
    }

    await closed;
    await agent.close();
    assert.equal(calls.length, 1);
    assert.deepEqual(seen, [
      `started ${seen[0]?.split(" ")[1]} ${seen[0]?.split(" ")[2]} 8000`,
      "agent pcm_16000/pcm_16000",
      "user: hello",
      "agent: Hi there",
      "response",
      "interruption",
      "dtmf 7",
      "ended",
    ]);
    assert.ok(latency !== undefined && latency >= 0, "turn latency measured from the caller's speech");
    assert.equal(endedReason, "caller_hangup");
    assert.equal(logs.events("observer_failed").length, 1, "the throwing subscriber was logged, once");
    assert.equal(logs.events("call_summary").length, 1);
  });
});
