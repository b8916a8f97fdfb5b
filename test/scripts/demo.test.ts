/**
 * `npm run demo` as CI runs it: spawned exactly as the npm script, headless (stdout is a pipe, not
 * a TTY), no credentials in the environment. It must exit 0, stop everything it started, and leave
 * a report showing the call worked with a barge-in and the DTMF reaching the agent, plus a
 * stereo recording.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, it } from "node:test";
import { readWav, splitStereo } from "../../scripts/lib/wav.js";

const out = mkdtempSync(join(tmpdir(), "demo-test-"));
after(() => rmSync(out, { recursive: true, force: true }));

/** Runs the demo exactly as the npm script, without any credential in the environment. */
async function runDemo(
  args: readonly string[],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith("ELEVENLABS_") || k.startsWith("EXOTEL_")) delete env[k];
  const child = spawn("npm", ["run", "demo", "--", ...args], {
    cwd: join(import.meta.dirname, "../.."),
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d) => {
    stdout += String(d);
  });
  child.stderr.on("data", (d) => {
    stderr += String(d);
  });
  const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
  return { code, stdout, stderr };
}

it("npm run demo passes headless with no credentials", { timeout: 90_000 }, async () => {
  const started = performance.now();
  const { code, stdout, stderr } = await runDemo(["--out", out]);
  const seconds = (performance.now() - started) / 1000;
  assert.equal(code, 0, `demo exited ${code}\n--- stdout\n${stdout}\n--- stderr\n${stderr}`);
  // About 25 s of call plus start-up; a busy machine adds start-up time, not call time.
  assert.ok(seconds < 80, `demo took ${seconds.toFixed(1)} s`);
  assert.match(stdout, /LOCAL TEST AGENT/);
  assert.match(stdout, /Demo OK/);
  assert.ok(!stdout.includes("\u001b["), "no terminal escapes when stdout is not a TTY");

  const jsonPath = join(out, "demo-call.json");
  const wavPath = join(out, "demo-call.wav");
  assert.match(stdout, new RegExp(`Report \\(JSON\\): ${jsonPath.replaceAll("/", "\\/")}`));
  const report = JSON.parse(readFileSync(jsonPath, "utf8"));
  assert.equal(report.ok, true, JSON.stringify(report.failures));
  assert.ok(report.interruptions.length >= 1, "a barge-in cleared the agent");
  // One barge-in, one number everywhere: Exotel's side, the agent's and the bridge's summary.
  assert.equal(report.demo.agent.interruptions, report.interruptions.length);
  assert.equal(report.demo.bridgeSummary.interruptions, report.interruptions.length);
  // Responses are numbered from 1 in the order spoken; the barge-in cut the answer (response 2).
  assert.deepEqual(
    report.demo.agent.responses.map((r: { number: number }) => r.number),
    report.demo.agent.responses.map((_: unknown, i: number) => i + 1),
  );
  assert.deepEqual(report.demo.agent.interruptedResponses, [2]);
  assert.match(stdout, /interrupted by the caller \(response 2\)/);
  assert.equal(
    stdout.match(/ms queued at Exotel/g),
    null,
    "the queued audio at Exotel is reported once, by Exotel's side",
  );
  assert.equal(report.dtmfSent, "4567#");
  assert.deepEqual(report.demo.agent.userMessages, ["4567"], "the digits reached the agent");
  assert.equal(report.frames.violations, 0);
  assert.equal(report.end.by, "bridge", "the agent ended the call (end_call), the bridge closed Exotel");
  assert.equal(report.demo.bridgeSummary.end_reason, "agent_end_call");
  assert.ok(
    report.turns.length >= 2 && report.turns.every((t: { latencyMs: number | null }) => t.latencyMs !== null),
  );

  assert.ok(existsSync(wavPath));
  const wav = readWav(wavPath);
  assert.equal(wav.channels, 2);
  assert.equal(wav.sampleRate, 8000);
  const { left, right } = splitStereo(wav.pcm);
  assert.ok(left.some((b) => b !== 0) && right.some((b) => b !== 0), "both sides have audio");
});

it("npm run demo -- --transfer plays the whole Passthru and Connect flow against the bridge", {
  timeout: 90_000,
}, async () => {
  const { code, stdout, stderr } = await runDemo(["--transfer", "--team", "sales", "--out", out]);
  assert.equal(code, 0, `demo exited ${code}\n--- stdout\n${stdout}\n--- stderr\n${stderr}`);
  // Each step, in order: the tool call, the bridge closing the stream, Passthru, Connect, the numbers.
  const steps = [
    /calls client tool transfer_to_human \{"team":"sales"/,
    /transfer requested: team sales/,
    /stream closed by the bridge/,
    /Passthru {2}GET \/exotel\/passthru\?token=\*\*\*&CallSid=CAdemo[0-9a-f]+.* -> 200 transfer/,
    /Connect {3}GET \/exotel\/connect\?.* -> 200 \{"fetch_after_attempt":false,"destination":\{"numbers":\["\+918000000002","\+918000000003"\]\}/,
    /Connect rings, in order: \+918000000002, \+918000000003/,
    /Demo OK \(transfer\)/,
  ];
  let from = 0;
  for (const re of steps) {
    const m = re.exec(stdout.slice(from));
    assert.ok(m, `missing (in order): ${re}\n--- stdout\n${stdout}`);
    from += m.index + m[0].length;
  }
  const report = JSON.parse(readFileSync(join(out, "demo-transfer.json"), "utf8"));
  assert.equal(report.demo.bridgeSummary.end_reason, "agent_transfer");
  assert.deepEqual(report.demo.flow.numbers, ["+918000000002", "+918000000003"]);
  assert.deepEqual(
    report.demo.flow.steps.map((s: { applet: string }) => s.applet),
    ["passthru", "connect"],
  );
  assert.doesNotMatch(stdout, /token=(?!\*\*\*)/, "the applet token is never printed");
});
