/**
 * The CLIs as a developer runs them (`npm run call`, `npm run agent`), headless: exit codes, the
 * files written, the agent's events feed showing up in the call view, the agent banner.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { after, describe, it } from "node:test";
import { loadConfig } from "../../app/src/config.js";
import { createLogger } from "../../app/src/log.js";
import { Bridge } from "../../app/src/server.js";
import { startLocalAgent } from "../../scripts/lib/local-agent.js";

const ROOT = join(import.meta.dirname, "../..");
const out = mkdtempSync(join(tmpdir(), "cli-test-"));
const cleanup: Array<() => Promise<void> | void> = [() => rmSync(out, { recursive: true, force: true })];
after(async () => {
  for (const c of cleanup.reverse()) await c();
});

function npm(args: string[]): {
  child: ChildProcess;
  done: Promise<{ code: number | null; stdout: string; stderr: string }>;
} {
  // Own process group, so a test can send SIGINT to all of it as Ctrl-C in a terminal does.
  const child = spawn("npm", ["run", "--silent", ...args], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (d) => {
    stdout += String(d);
  });
  child.stderr?.on("data", (d) => {
    stderr += String(d);
  });
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.once("exit", (code) => resolve({ code, stdout, stderr })),
  );
  return { child, done };
}

describe("npm run call", { timeout: 30_000 }, () => {
  it("places a call, shows the local agent's lines, writes WAV + JSON, exits 0", async () => {
    const agent = await startLocalAgent({ mode: "script", greeting: true, pingIntervalMs: 0 });
    cleanup.push(() => agent.close());
    const bridge = new Bridge({
      config: loadConfig({
        ELEVENLABS_AGENT_ID: "local-test-agent",
        ELEVENLABS_BASE_URL: agent.url,
        LOG_LEVEL: "silent",
      }),
      log: createLogger("silent"),
    });
    const { port } = await bridge.listen(0, "127.0.0.1");
    cleanup.push(() => bridge.close());
    const { code, stdout, stderr } = await npm([
      "call",
      "--",
      `ws://127.0.0.1:${port}/media`,
      "--silence",
      "--dtmf",
      "0.5:9",
      "--hangup-after",
      "2.5",
      "--param",
      "lang=en",
      "--out",
      out,
      "--name",
      "ok-call",
      "--agent-events",
      agent.url,
    ]).done;
    assert.equal(code, 0, `${stdout}\n${stderr}`);
    assert.match(stdout, /Call summary \(OK\)/);
    assert.match(
      stdout,
      /agent\s+says: "Hello, this is the local test agent/,
      "the agent's events feed is shown",
    );
    assert.match(stdout, /caller\s+pressed 9/);
    assert.match(stdout, /caller hung up \(hangup_after\), close 1000/);
    const report = JSON.parse(readFileSync(join(out, "ok-call.json"), "utf8"));
    assert.equal(report.ok, true);
    assert.equal(report.dtmfSent, "9");
    assert.match(report.url, /sample-rate=8000&lang=en/);
    assert.ok(existsSync(join(out, "ok-call.wav")));
    assert.deepEqual(agent.conversations[0]?.initiation?.dynamic_variables, {
      lang: "en",
      caller_number: "+919876543210",
      called_number: "+918047491899",
      call_sid: report.callSid,
      stream_sid: report.streamSid,
    });
  });

  it("exits 1 when the call fails and 2 on bad usage", async () => {
    const failed = await npm(["call", "--", "ws://127.0.0.1:9/media", "--out", out, "--name", "dead"]).done;
    assert.equal(failed.code, 1);
    assert.match(failed.stdout, /Call summary \(FAILED\)[\s\S]*could not connect/);
    const usage = await npm(["call", "--", "http://example.com"]).done;
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /must start with ws:\/\/ or wss:\/\//);
  });
});

describe("npm run agent", () => {
  it("prints the LOCAL TEST AGENT banner, serves signed URLs, stops on Ctrl-C", {
    timeout: 30_000,
  }, async () => {
    const { child, done } = npm(["agent", "--", "--port", "0", "--api-key", "cli-key"]);
    let url = "";
    for await (const line of createInterface({ input: child.stdout as NodeJS.ReadableStream })) {
      const m = /Listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(line);
      if (m) {
        url = m[1] as string;
        break;
      }
    }
    assert.ok(url, "banner with the URL");
    const bad = await fetch(`${url}/v1/convai/conversation/get-signed-url?agent_id=local-test-agent`);
    assert.equal(bad.status, 401);
    const good = await fetch(`${url}/v1/convai/conversation/get-signed-url?agent_id=local-test-agent`, {
      headers: { "xi-api-key": "cli-key" },
    });
    assert.equal(good.status, 200);
    assert.match(await (await fetch(url)).text(), /LOCAL TEST AGENT \(not ElevenLabs\)/);
    // Ctrl-C: SIGINT to the whole process group (npm, sh, tsx, the agent).
    process.kill(-(child.pid as number), "SIGINT");
    const { stdout } = await done;
    assert.match(stdout, /LOCAL TEST AGENT: not ElevenLabs/);
    // npm itself may die of the signal; what matters is that the agent let go of its port.
    for (let i = 0; i < 50; i++) {
      const alive = await fetch(url).then(
        () => true,
        () => false,
      );
      if (!alive) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.fail("the local test agent is still serving after Ctrl-C");
  });
});
