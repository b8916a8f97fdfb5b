/**
 * `npm run check` against the local test agent over real HTTP and WebSocket, in each of the ways a
 * first setup goes wrong.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import path from "node:path";
import { describe, it } from "node:test";
import { parseAgentFormat } from "../../app/src/audio/formats.js";
import { loadConfig } from "../../app/src/config.js";
import { audioPath, formatReport, runCheck } from "../../scripts/check.js";
import { type LocalAgentOptions, startLocalAgent } from "../../scripts/lib/local-agent.js";

const KEY = "sk_check_0123456789";

async function check(agentOptions: LocalAgentOptions, env: Record<string, string> = {}) {
  const agent = await startLocalAgent({ apiKey: KEY, mode: "manual", pingIntervalMs: 0, ...agentOptions });
  try {
    const config = loadConfig({
      ELEVENLABS_AGENT_ID: agent.agentIds[0] as string,
      ELEVENLABS_API_KEY: KEY,
      ELEVENLABS_BASE_URL: agent.url,
      ...env,
    });
    const report = await runCheck(config, { timeoutMs: 4000, settleMs: 300 });
    return { report, text: formatReport(report), agent };
  } finally {
    await agent.close();
  }
}

describe("npm run check", () => {
  it("opens a conversation, reads the formats and says what passes through", async () => {
    const { report, text, agent } = await check({ outputFormat: "pcm_16000", inputFormat: "pcm_16000" });
    assert.ok(report.ok, text);
    assert.match(text, /^formats {6}agent hears pcm_16000, agent speaks pcm_16000$/m);
    assert.match(text, /^exotel {2}8k {3}resampled both ways \(pcm_8000 <-> pcm_16000\)$/m);
    assert.match(text, /^exotel 16k {3}passes through both ways$/m);
    assert.match(text, /^passthrough {2}with \?sample-rate=16000 in the applet URL$/m);
    assert.match(text, /^ok {11}calls will reach this agent$/m);
    const conv = agent.conversations[0];
    assert.ok(conv?.initiation, "the check sent the call's initiation frame");
    assert.ok(!text.includes(KEY), "the key is never printed");
  });

  it("a bad key fails with the reason", async () => {
    const { report } = await check({ failure: { kind: "bad_key" } });
    assert.equal(report.ok, false);
    assert.match(report.problem ?? "", /refused the API key \(HTTP 401\): check ELEVENLABS_API_KEY/);
  });

  it("an agent that is not in this region fails naming region and agent", async () => {
    const { report } = await check({ failure: { kind: "unknown_agent" } }, { ELEVENLABS_REGION: "india" });
    assert.equal(report.ok, false);
    assert.match(report.problem ?? "", /was not found in region india .*ELEVENLABS_REGION/);
  });

  it("overrides the agent has not enabled fail with what to enable", async () => {
    const { report, text } = await check(
      {
        failure: {
          kind: "error_1008",
          errorType: "invalid_override",
          message: "Override for field 'first_message' is not allowed by config.",
        },
      },
      { ELEVENLABS_FIRST_MESSAGE: "Namaste" },
    );
    assert.equal(report.ok, false, text);
    assert.match(
      report.problem ?? "",
      /refused the conversation overrides .*enable First message in the agent's Security tab/,
    );
  });

  it("an agent that never answers fails within the budget", async () => {
    const started = Date.now();
    const { report } = await check({ failure: { kind: "silence" } });
    assert.equal(report.ok, false);
    assert.match(report.problem ?? "", /no conversation metadata within/);
    assert.ok(Date.now() - started < 15_000);
  });

  it("warns when the agent id looks like an API key", async () => {
    const { report } = await check({ agents: ["sk_0123456789abcdef"] });
    assert.ok(report.warnings.some((w) => /ELEVENLABS_AGENT_ID looks like an API key/.test(w)));
  });

  it("describes both legs when formats differ", () => {
    const pcm8 = parseAgentFormat("pcm_8000");
    const ulaw = parseAgentFormat("ulaw_8000");
    assert.ok(pcm8 && ulaw);
    assert.equal(audioPath(8000, pcm8, pcm8), "passes through both ways");
    assert.equal(audioPath(8000, ulaw, ulaw), "converted both ways (pcm_8000 <-> ulaw_8000)");
    assert.equal(
      audioPath(16000, pcm8, ulaw),
      "caller->agent resampled pcm_16000 -> pcm_8000; agent->caller resampled ulaw_8000 -> pcm_16000",
    );
  });

  it("as a command: exit 0 when the agent answers, 1 with the reason when not, 78 on bad configuration", async () => {
    const agent = await startLocalAgent({ apiKey: KEY, mode: "manual", pingIntervalMs: 0 });
    const root = path.resolve(import.meta.dirname, "../..");
    const run = (env: Record<string, string>) =>
      new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
        execFile(
          process.execPath,
          ["--import", "tsx", "scripts/check.ts"],
          { cwd: root, encoding: "utf8", env: { PATH: process.env.PATH ?? "", ...env }, timeout: 60_000 },
          (err, stdout, stderr) => resolve({ code: err ? Number(err.code ?? -1) : 0, stdout, stderr }),
        );
      });
    try {
      const base = { ELEVENLABS_AGENT_ID: agent.agentIds[0] as string, ELEVENLABS_BASE_URL: agent.url };
      const ok = await run({ ...base, ELEVENLABS_API_KEY: KEY });
      assert.equal(ok.code, 0, ok.stdout + ok.stderr);
      const bad = await run({ ...base, ELEVENLABS_API_KEY: "sk_wrong_0000000000" });
      assert.equal(bad.code, 1);
      assert.match(bad.stdout, /^FAILED {7}ElevenLabs refused the API key/m);
      const config = await run({ ELEVENLABS_REGION: "mars" });
      assert.equal(config.code, 78);
      assert.match(config.stderr, /ELEVENLABS_AGENT_ID is required/);
    } finally {
      await agent.close();
    }
  });
});
