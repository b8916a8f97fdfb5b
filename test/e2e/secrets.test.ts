/**
 * Secrets never leak: the suite's scenarios run with recognisable fake secrets (API key, Exotel
 * Basic credential, the agent's signed-URL signature) and none of them may appear in any log
 * line, error detail, /health, /metrics, or the simulator's report.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { ExotelConnectError, ExotelSocket, placeCall } from "../../scripts/lib/exotel-caller.js";
import { startLocalAgent } from "../../scripts/lib/local-agent.js";
import { ADMIN_HEADERS, startBridge } from "../support/bridge.js";

const API_KEY = "sk_FAKESECRET_apikey_7f3a9b1c";
const EXOTEL_TOKEN = "FAKESECRET_exotoken_42xq";
const BASIC = `exokey:${EXOTEL_TOKEN}`;

function assertClean(haystack: string, needles: readonly string[], where: string): void {
  for (const n of needles)
    assert.ok(!haystack.includes(n), `${where} contains a secret (${n.slice(0, 6)}...)`);
}

describe("secrets stay out of logs, errors, routes and reports", () => {
  it("across a good call, a bad key, agent errors, bad credentials and hostile frames", async () => {
    const agent = await startLocalAgent({
      apiKey: API_KEY,
      mode: "script",
      outputFormat: "pcm_8000",
      inputFormat: "pcm_8000",
    });
    const b = await startBridge({
      ELEVENLABS_AGENT_ID: agent.agentIds[0] as string,
      ELEVENLABS_API_KEY: API_KEY,
      ELEVENLABS_BASE_URL: agent.url,
      EXOTEL_BASIC_AUTH: BASIC,
      LOG_LEVEL: "trace",
    });
    const badKey = await startBridge({
      ELEVENLABS_AGENT_ID: agent.agentIds[0] as string,
      ELEVENLABS_API_KEY: `${API_KEY}_wrong`,
      ELEVENLABS_BASE_URL: agent.url,
      LOG_LEVEL: "trace",
    });
    const signatures: string[] = [];
    agent.onConversation((c) => {
      if (c.query.conversation_signature) signatures.push(c.query.conversation_signature);
    });
    try {
      // A good call with the credential in the URL, as Exotel sends it.
      const url = b.url.replace("ws://", `ws://exokey:${EXOTEL_TOKEN}@`);
      const { report } = await placeCall({
        url,
        sampleRate: 8000,
        audio: [{ wav: "fixtures/caller-barge-in-8k.wav", atMs: 500 }],
        dtmf: [{ atMs: 3000, digits: "12#" }],
        hangupAfterMs: 5000,
      });
      assert.ok(report.ok, report.failures.join("; "));
      // Wrong and missing credentials.
      for (const auth of [`exokey:${EXOTEL_TOKEN}x`, undefined]) {
        await assert.rejects(
          ExotelSocket.connect({ url: b.url, sampleRate: 8000, ...(auth && { basicAuth: auth }) }),
          (e: unknown) => e instanceof ExotelConnectError && e.status === 401,
        );
      }
      // Hostile frames on an authenticated socket.
      const hostile = await ExotelSocket.connect({ url: b.url, sampleRate: 8000, basicAuth: BASIC });
      hostile.sendRaw(`{"event":"media","media":{"payload":"${EXOTEL_TOKEN}"`); // broken JSON: must not be echoed
      hostile.sendRaw(`{"event":"media","media":{"payload":"${EXOTEL_TOKEN}"}}`);
      hostile.close();
      // A bad API key.
      const s2 = await ExotelSocket.connect({ url: badKey.url, sampleRate: 8000 });
      s2.sendConnected();
      s2.sendStart();
      await s2.closed;
      await badKey.logs.summary();
      await sleep(200);

      const needles = [API_KEY, EXOTEL_TOKEN, Buffer.from(BASIC).toString("base64"), ...signatures];
      assert.ok(signatures.length >= 1, "the signed-URL path was used");
      assertClean(b.logs.raw.join("\n"), needles, "bridge logs");
      assertClean(badKey.logs.raw.join("\n"), needles, "bad-key bridge logs");
      assertClean(JSON.stringify(report), needles, "simulator report");
      for (const route of ["/health", "/health/details", "/metrics", "/readyz", "/healthz"]) {
        const res = await fetch(`${b.http}${route}`, { headers: ADMIN_HEADERS });
        assert.equal(res.status, 200, route);
        assertClean(await res.text(), needles, route);
      }
      const failed = badKey.logs.events("call_summary")[0];
      assert.equal(failed?.end_reason, "agent_connect_failed");
      assert.match(String(failed?.end_detail), /401/);
    } finally {
      await b.close();
      await badKey.close();
      await agent.close();
    }
  });

  it("a config error names the variable, never its value", async () => {
    const child = spawn(process.execPath, ["--import", "tsx", "app/src/main.ts"], {
      env: {
        PATH: process.env.PATH ?? "",
        ELEVENLABS_AGENT_ID: "a",
        ELEVENLABS_API_KEY: `${API_KEY} with spaces`,
        EXOTEL_BASIC_AUTH: EXOTEL_TOKEN,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on("data", (d: Buffer) => {
      out += d.toString();
    });
    const [code] = (await once(child, "exit")) as [number];
    assert.equal(code, 78);
    assert.match(out, /ELEVENLABS_API_KEY/);
    assert.match(out, /EXOTEL_BASIC_AUTH/);
    assertClean(out, [API_KEY, EXOTEL_TOKEN], "startup error");
  });
});
