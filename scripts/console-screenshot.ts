/**
 * Renders the live call console with a made-up scene (two calls in progress, three finished) in
 * headless Chromium and saves a screenshot: the picture in docs/console.md and the README.
 *
 *   npx tsx scripts/console-screenshot.ts [out.png]     (default docs/console.png)
 *
 * Runs the real bridge in-process on a free loopback port with a throwaway console credential and
 * publishes the scene into its feed while the page is open, so the page draws it live. Needs
 * Debian's chromium (CHROMIUM_PATH to use another).
 */
import { loadConfig } from "../app/src/config.js";
import type { ConsoleEvent } from "../app/src/console/events.js";
import { createLogger } from "../app/src/log.js";
import { Bridge } from "../app/src/server.js";
import { findChromium, launchChromium } from "./lib/chromium.js";

const out = process.argv[2] ?? "docs/console.png";
const executable = findChromium();
if (executable === undefined) {
  process.stderr.write("chromium is not installed (apt-get install chromium, or set CHROMIUM_PATH)\n");
  process.exit(1);
}

const USER = "screenshot";
const PASSWORD = `pw-${process.pid}-${Date.now()}`;

function scene(now: number): ConsoleEvent[] {
  const s = (seconds: number) => now - seconds * 1000;
  const events: ConsoleEvent[] = [];
  const ended = (
    callId: string,
    from: string,
    startedS: number,
    end: Omit<Extract<ConsoleEvent, { type: "call_ended" }>, "type" | "callId" | "at">,
    dtmf?: string,
  ) => {
    events.push({
      type: "call_started",
      callId,
      at: s(startedS),
      callSid: `CA${callId}`,
      streamSid: `ST${callId}`,
      from,
      to: "+918069450000",
      agentId: "support_hi",
    });
    if (dtmf) events.push({ type: "dtmf", callId, digits: dtmf, at: s(startedS - 5) });
    events.push({ type: "call_ended", callId, at: s(startedS - end.durationS), ...end });
  };
  ended("a91f", "+919845012345", 900, {
    endReason: "caller_hangup",
    endedBy: "caller",
    durationS: 184.2,
    timeToFirstAudioMs: 612,
    responseLatencyMs: { count: 9, avg: 742, max: 1180 },
    interruptions: 2,
    transcriptTurns: 19,
  });
  ended(
    "b27c",
    "+917760098765",
    620,
    {
      endReason: "agent_transfer",
      endedBy: "agent",
      durationS: 96.5,
      timeToFirstAudioMs: 588,
      responseLatencyMs: { count: 5, avg: 690, max: 910 },
      interruptions: 0,
      transcriptTurns: 11,
    },
    "2",
  );
  ended("c03d", "+919900011122", 300, {
    endReason: "agent_end_call",
    endedBy: "agent",
    durationS: 61.0,
    timeToFirstAudioMs: 655,
    responseLatencyMs: { count: 4, avg: 1020, max: 1710 },
    interruptions: 1,
    transcriptTurns: 8,
  });

  const live = (
    callId: string,
    from: string,
    startedS: number,
    steps: Array<[number, ConsoleEvent["type"], string | number]>,
  ) => {
    events.push({
      type: "call_started",
      callId,
      at: s(startedS),
      callSid: `CA${callId}`,
      streamSid: `ST${callId}`,
      from,
      to: "+918069450000",
      agentId: "support_hi",
      audioPath: "8 kHz PCM ↔ pcm_16000",
    });
    for (const [atS, type, value] of steps) {
      const at = s(atS);
      if (type === "transcript") {
        const [role, text] = String(value).split("|") as ["caller" | "agent", string];
        events.push({ type, callId, role, text, at });
      } else if (type === "turn") events.push({ type, callId, latencyMs: Number(value), at });
      else if (type === "interruption") events.push({ type, callId, at });
      else if (type === "agent_correction") events.push({ type, callId, text: String(value), at });
      else if (type === "dtmf") events.push({ type, callId, digits: String(value), at });
    }
  };
  live("d4e5", "+919812345678", 74, [
    [73, "transcript", "agent|Namaste! This is Asha from Acme support. How can I help you today?"],
    [66, "transcript", "caller|Hi, my order hasn't arrived yet."],
    [65, "turn", 640],
    [
      64,
      "transcript",
      "agent|I'm sorry to hear that. Could you key in your order number, followed by the hash key?",
    ],
    [52, "dtmf", "48213#"],
    [50, "turn", 710],
    [
      49,
      "transcript",
      "agent|Thank you. Order 48213 shipped on Monday and is out for delivery today, it should reach you",
    ],
    [44, "interruption", ""],
    [44, "agent_correction", "Thank you. Order 48213 shipped on Monday and is out for delivery today"],
    [43, "transcript", "caller|Can I change the delivery address?"],
    [42, "turn", 1240],
    [41, "transcript", "agent|Yes. Which address would you like it delivered to instead?"],
    [30, "transcript", "caller|My office, the one on MG Road."],
    [29, "turn", 580],
    [28, "transcript", "agent|Done: it will now go to your MG Road office. Anything else?"],
  ]);
  live("f6a7", "+918877665544", 23, [
    [22, "transcript", "agent|नमस्ते! मैं आपकी क्या मदद कर सकती हूँ?"],
    [15, "transcript", "caller|मुझे अपना बिल भरना है।"],
    [14, "turn", 820],
    [13, "transcript", "agent|ज़रूर। कृपया अपना खाता नंबर बताइए।"],
    [5, "transcript", "caller|चार सात दो नौ एक।"],
    [3, "turn", 1930],
    [2, "transcript", "agent|धन्यवाद, आपका बकाया ₹1,240 है।"],
  ]);
  return events;
}

const config = loadConfig({
  ...process.env,
  ELEVENLABS_AGENT_ID: "support_hi",
  CONSOLE_BASIC_AUTH: `${USER}:${PASSWORD}`,
  CONSOLE_ENABLED: "true",
  LOG_LEVEL: "silent",
});
const bridge = new Bridge({ config, log: createLogger("silent") });
const address = await bridge.listen(0, "127.0.0.1");
const browser = await launchChromium(executable);
try {
  const context = await browser.newContext({
    httpCredentials: { username: USER, password: PASSWORD },
    viewport: { width: 1320, height: 900 },
    deviceScaleFactor: 1,
  });
  const page = await context.newPage();
  await page.goto(`http://127.0.0.1:${address.port}/console`);
  await page.locator("#status[data-state='live']").waitFor({ timeout: 30_000 });
  for (const event of scene(Date.now())) bridge.consoleFeed.publish(event);
  await page.locator("#ended-rows tr").nth(2).waitFor({ timeout: 30_000 });
  await page.locator("article.call .bar").nth(5).waitFor({ timeout: 30_000 });
  await page.screenshot({ path: out, fullPage: true });
  process.stdout.write(`wrote ${out}\n`);
} finally {
  await browser.close();
  await bridge.close();
}
