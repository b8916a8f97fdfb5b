/**
 * Renders the live call console during real simulated calls in headless Chromium and saves a
 * screenshot: the picture in docs/console.md and the README.
 *
 *   npx tsx scripts/console-screenshot.ts [out.png]     (default docs/console.png)
 *
 * Runs the real bridge in-process on a free loopback port with a throwaway console credential,
 * pointed at the local test agent (script mode), and places two simulated Exotel calls at once:
 * a short one the caller hangs up on (it lands in "last calls") and the demo's call (a question,
 * a barge-in, the digits 4567#). The picture is taken once the digits have been answered, about
 * 20 s in. Needs Debian's chromium (CHROMIUM_PATH to use another).
 */
import { join } from "node:path";
import { loadConfig } from "../app/src/config.js";
import { createLogger } from "../app/src/log.js";
import { Bridge } from "../app/src/server.js";
import { findChromium, launchChromium } from "./lib/chromium.js";
import { startCall } from "./lib/exotel-caller.js";
import { startLocalAgent } from "./lib/local-agent.js";

const out = process.argv[2] ?? "docs/console.png";
const executable = findChromium();
if (executable === undefined) {
  process.stderr.write("chromium is not installed (apt-get install chromium, or set CHROMIUM_PATH)\n");
  process.exit(1);
}

const FIXTURES = join(import.meta.dirname, "../fixtures");
const USER = "screenshot";
const PASSWORD = `pw-${process.pid}-${Date.now()}`;
const API_KEY = `key-${process.pid}-${Date.now()}`;
const WAIT = { timeout: 60_000 };

const agent = await startLocalAgent({ apiKey: API_KEY, mode: "script", endCallAfterReplies: 2 });
const config = loadConfig({
  ELEVENLABS_AGENT_ID: agent.agentIds[0] as string,
  ELEVENLABS_API_KEY: API_KEY,
  ELEVENLABS_BASE_URL: agent.url,
  CONSOLE_BASIC_AUTH: `${USER}:${PASSWORD}`,
  CONSOLE_ENABLED: "true",
  LOG_LEVEL: "silent",
});
const bridge = new Bridge({ config, log: createLogger("silent") });
const address = await bridge.listen(0, "127.0.0.1");
const url = `ws://127.0.0.1:${address.port}/media`;
const browser = await launchChromium(executable);
try {
  const context = await browser.newContext({
    httpCredentials: { username: USER, password: PASSWORD },
    viewport: { width: 1320, height: 900 },
    deviceScaleFactor: 1,
  });
  const page = await context.newPage();
  await page.goto(`http://127.0.0.1:${address.port}/console`);
  await page.locator("#status[data-state='live']").waitFor(WAIT);
  const short = startCall({
    url,
    sampleRate: 8000,
    from: "+919845012345",
    to: "+918069450000",
    audio: [{ wav: join(FIXTURES, "caller-order-status-8k.wav"), atMs: 4500 }],
    hangupAfterMs: 13_500,
  });
  const demo = startCall({
    url,
    sampleRate: 8000,
    from: "+919812345678",
    to: "+918069450000",
    audio: [
      { wav: join(FIXTURES, "caller-order-status-8k.wav"), atMs: 4800 },
      { wav: join(FIXTURES, "caller-barge-in-8k.wav"), atMs: 12_600 },
    ],
    dtmf: [{ atMs: 17_200, digits: "4567#" }],
    maxDurationMs: 45_000,
  });
  await page.locator("#ended-rows tr").first().waitFor(WAIT);
  const card = page.locator("article.call");
  await card.locator(".line.agent .text", { hasText: "digits" }).waitFor(WAIT);
  await page.screenshot({ path: out, fullPage: true });
  process.stdout.write(`wrote ${out}\n`);
  demo.hangup();
  await Promise.all([short.result, demo.result]);
} finally {
  await browser.close();
  await bridge.close();
  await agent.close();
}
