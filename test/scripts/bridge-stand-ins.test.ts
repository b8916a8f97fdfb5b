/**
 * The two stand-ins with the real bridge between them (in-process, real sockets): the simulator's
 * recording places agent audio where it was really played, an echo call exercises the whole audio
 * path (16 kHz stream, mu-law agent, camelCase Exotel frames), and the bridge's Basic auth is
 * seen as Exotel would see it.
 */
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { loadConfig } from "../../app/src/config.js";
import { createLogger } from "../../app/src/log.js";
import { Bridge } from "../../app/src/server.js";
import { silence, tone, toneAmplitude } from "../../scripts/lib/audio.js";
import { startCall } from "../../scripts/lib/exotel-caller.js";
import { type LocalAgent, type LocalAgentOptions, startLocalAgent } from "../../scripts/lib/local-agent.js";

const KEY = "stand-ins-key";
const open: Array<{ close(): Promise<void> }> = [];
after(async () => {
  for (const o of open.reverse()) await o.close();
});

async function rig(agentOptions: LocalAgentOptions, env: Record<string, string> = {}) {
  const agent: LocalAgent = await startLocalAgent({ apiKey: KEY, pingIntervalMs: 500, ...agentOptions });
  open.push(agent);
  const bridge = new Bridge({
    config: loadConfig({
      ELEVENLABS_AGENT_ID: "local-test-agent",
      ELEVENLABS_API_KEY: KEY,
      ELEVENLABS_BASE_URL: agent.url,
      LOG_LEVEL: "silent",
      ...env,
    }),
    log: createLogger("silent"),
  });
  const addr = await bridge.listen(0, "127.0.0.1");
  open.push(bridge);
  return { agent, port: addr.port };
}

describe("simulated Exotel -> bridge -> local test agent", () => {
  it("a tone the agent sends at a known moment lands at that moment in the recording", async () => {
    const { agent, port } = await rig({ mode: "manual", outputFormat: "pcm_8000", inputFormat: "pcm_8000" });
    const call = startCall({ url: `ws://127.0.0.1:${port}/media`, sampleRate: 8000, hangupAfterMs: 2500 });
    const conv = await agent.nextConversation(5000);
    await conv.waitFor((c) => c.metadataSent && c.userAudioMs >= 300, 5000, "caller audio flowing");
    // Both stand-ins share this process's clock: the moment of sending on the call's clock.
    const sock = call.socket;
    assert.ok(sock);
    const sentAt = performance.now() - sock.t0;
    conv.sendAudio(tone(1000, 600, 8000, 0.5), conv.newEventId());
    const { report, audio } = await call.result;
    assert.equal(report.frames.violations, 0, JSON.stringify(report.frames.violationSamples));
    let onset = -1;
    for (let ms = 0; ms + 5 <= audio.agent.length / 16; ms++) {
      if (toneAmplitude(audio.agent, 8000, 1000, ms * 16, (ms + 5) * 16) > 0.2) {
        onset = ms;
        break;
      }
    }
    // Never before it was sent; the bridge forwards the first frame at once (a few ms on an idle
    // machine), the upper bound allows a busy one. Where it lands is checked exactly just below:
    // at the moment it arrived.
    assert.ok(
      onset >= sentAt - 5 && onset <= sentAt + 500,
      `tone at ${onset} ms, sent at ${sentAt.toFixed(0)} ms`,
    );
    assert.ok(
      Math.abs((report.firstAgentAudioMs ?? -1) - onset) <= 5,
      "first agent audio = the tone's onset",
    );
    assert.ok(
      toneAmplitude(audio.agent, 8000, 1000, (onset + 10) * 16, (onset + 590) * 16) > 0.45,
      "600 ms, unbroken",
    );
  });

  it("echo call: 16 kHz stream, mu-law agent, camelCase Exotel: the caller's tone comes back", async () => {
    const { port } = await rig({
      mode: "echo",
      greeting: false,
      inputFormat: "ulaw_8000",
      outputFormat: "ulaw_8000",
      responseDelayMs: 0,
      vad: { hangoverMs: 300 },
    });
    const caller = Buffer.concat([silence(300, 16000), tone(440, 700, 16000, 0.4)]);
    const { report, audio } = await startCall({
      url: `ws://127.0.0.1:${port}/media`,
      sampleRate: 16000,
      spelling: "camel",
      numbers: "number",
      audio: [{ pcm: caller, sampleRate: 16000 }],
      hangupAfterMs: 3200,
    }).result;
    assert.equal(report.frames.violations, 0, JSON.stringify(report.frames.violationSamples));
    assert.ok(
      Object.keys(report.frames.sizes).every((b) => Number(b) % 640 === 0),
      "20 ms units at 16 kHz",
    );
    assert.equal(report.turns.length, 1);
    const turn = report.turns[0];
    assert.ok(turn?.agentStartMs != null && turn.latencyMs != null, "the echo was heard");
    assert.ok(
      turn.latencyMs < 1500,
      `echo after ${turn.latencyMs} ms (300 ms hangover + framing; seconds would be a bug)`,
    );
    const from = turn.agentStartMs * 32;
    assert.ok(
      toneAmplitude(audio.agent, 16000, 440, from + 200 * 32, from + 600 * 32) > 0.2,
      "440 Hz back at 16 kHz",
    );
    assert.ok(report.ok, report.failures.join("; "));
  });

  it("Basic auth: refused without the credential, accepted from the URL's userinfo", async () => {
    const { port } = await rig({ mode: "manual" }, { EXOTEL_BASIC_AUTH: "exo:secret" });
    const refused = await startCall({ url: `ws://127.0.0.1:${port}/media`, hangupAfterMs: 300 }).result;
    assert.equal(refused.report.end.by, "refused");
    assert.equal(refused.report.end.status, 401);
    const ok = await startCall({ url: `ws://exo:secret@127.0.0.1:${port}/media`, hangupAfterMs: 300 }).result;
    assert.equal(ok.report.end.by, "caller");
    assert.equal(ok.report.end.code, 1000);
  });
});
