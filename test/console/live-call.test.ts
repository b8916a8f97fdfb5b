/**
 * The console watching a real call: the real bridge, the local test agent in script mode and a
 * simulated Exotel caller (the demo's call: a question, a barge-in over the agent's answer, the
 * digits 4567#, the agent's goodbye and end_call). A person opens /console in headless Chromium
 * while the call is in progress and sees its card fill in: both sides' lines, the agent's line
 * cut by the barge-in, a latency bar per answered turn (the same numbers as the call's summary),
 * the barge-in marker and the digits; then the call moves to "last calls" with its end reason.
 *
 * Skipped without chromium; with CI=true a missing chromium is a failure (as browser.test.ts).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { Browser, Page } from "playwright-core";
import { findChromium, launchChromium } from "../../scripts/lib/chromium.js";
import { type CallResult, startCall } from "../../scripts/lib/exotel-caller.js";
import { type Rig, startRig } from "../support/bridge.js";
import { openConsolePage } from "./console-page.js";

const executable = findChromium();
if (executable === undefined && process.env.CI === "true")
  throw new Error("chromium is not installed: .ci/run should have installed it (apt-get install chromium)");
const skip = executable === undefined ? "chromium is not installed (apt-get install chromium)" : false;

const FIXTURES = join(import.meta.dirname, "../../fixtures");
const USER = "ops";
const PASSWORD = "console-pass-456";
const FROM = "+919811122233";
const TO = "+918044556677";
/** Generous: the call itself takes about 25 s and the machine is shared. */
const TIMEOUT = 60_000;

describe("console during a simulated call", { skip, timeout: 120_000 }, () => {
  let rig: Rig;
  let browser: Browser;
  let page: Page;
  let result: Promise<CallResult>;
  let problems: string[] = [];
  const card = () => page.locator("article.call", { hasText: FROM });

  before(async () => {
    rig = await startRig(
      { mode: "script", outputFormat: "pcm_16000", inputFormat: "pcm_16000", endCallAfterReplies: 2 },
      { CONSOLE_BASIC_AUTH: `${USER}:${PASSWORD}` },
      { level: "info" },
    );
    browser = await launchChromium(executable as string);
    const opened = await openConsolePage(browser, { username: USER, password: PASSWORD }, TIMEOUT);
    ({ page, problems } = opened);
  });

  after(async () => {
    await browser?.close();
    await rig?.close();
  });

  it("shows the call live: both sides, the cut line, latency bars, barge-in and digits", async () => {
    result = startCall({
      url: rig.bridge.url,
      sampleRate: 8000,
      from: FROM,
      to: TO,
      audio: [
        { wav: join(FIXTURES, "caller-order-status-8k.wav"), atMs: 4800 },
        { wav: join(FIXTURES, "caller-barge-in-8k.wav"), atMs: 12_600 },
      ],
      dtmf: [{ atMs: 17_200, digits: "4567#" }],
      maxDurationMs: 45_000,
    }).result;
    // A second later than the demo's script: on a loaded machine the 3.7 s greeting may still be
    // playing at 3.8 s, and the question would barge in on it.
    // The page is opened once the call is on: what it first sees is the feed's snapshot.
    const feed = rig.bridge.bridge.consoleFeed;
    for (const t = Date.now(); feed.activeCount === 0; ) {
      if (Date.now() - t > TIMEOUT) throw new Error("the call never reached the console feed");
      await new Promise((r) => setTimeout(r, 50));
    }
    const res = await page.goto(`${rig.bridge.http}/console`);
    assert.equal(res?.status(), 200);
    await card().waitFor();
    assert.match(
      (await card().locator(".call-title").textContent()) ?? "",
      new RegExp(`\\${FROM}\\s*→\\s*\\${TO}`),
    );
    assert.match((await card().locator(".call-meta").textContent()) ?? "", /agent local-test-agent/);

    // The agent's greeting and the caller's question (the local agent's transcript of it).
    await card().locator(".line.agent .text", { hasText: "local test agent" }).first().waitFor();
    await card().locator(".line.caller .text", { hasText: "caller spoke" }).first().waitFor();
    // The barge-in: marker, and the agent's answer cut to what the caller heard.
    await card().locator(".marker.barge").waitFor();
    await card().locator(".line.agent .cut").first().waitFor();
    // The digits, one key each.
    await card().locator(".marker.dtmf").first().waitFor();
    for (const t = Date.now(); ; ) {
      const keys = (await card().locator(".marker.dtmf kbd").allInnerTexts()).join("");
      if (keys === "4567#") break;
      if (Date.now() - t > TIMEOUT) assert.fail(`DTMF keys shown: ${keys}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    // A bar per answered turn: the question and the barge-in were both answered.
    await card().locator(".bar").nth(1).waitFor();
    const bars = await card()
      .locator(".bar")
      .evaluateAll((els) => els.map((e) => e.getAttribute("aria-label") ?? ""));
    const shown = bars.map((label) => Number(/: (\d+) ms$/.exec(label)?.[1]));
    for (const ms of shown)
      assert.ok(ms > 300 && ms < 3000, `turn latency ${ms} ms (the agent waits out its VAD, then replies)`);
    const timeline = await card()
      .locator(".timeline > li")
      .evaluateAll((els) => els.map((e) => e.className));
    const barge = timeline.indexOf("marker barge");
    assert.ok(barge > timeline.indexOf("line caller"), `the barge-in follows the question: ${timeline}`);
    assert.ok(timeline.indexOf("marker dtmf") > barge, `the digits follow the barge-in: ${timeline}`);

    // The call ends (the agent's end_call): the card leaves, the row arrives with the reason.
    const { report } = await result;
    assert.equal(report.end.by, "bridge");
    await card().waitFor({ state: "detached" });
    const row = page.locator("#ended-rows tr", { hasText: FROM });
    await row.waitFor();
    const cells = await row.locator("td").allInnerTexts();
    assert.match(cells[3] ?? "", /agent_end_call/);
    assert.equal(cells[8], "4567#");
    assert.equal(cells[6], "1", "one barge-in");
    // The row's latency is the summary's: the same turns as the bars.
    const summary = await rig.bridge.logs.summary(10_000);
    const lat = summary.response_latency_ms as { count: number; avg: number; max: number };
    assert.equal(lat.count, shown.length);
    assert.equal(cells[5], `${lat.avg} / ${lat.max} ms`);
    assert.equal(Math.max(...shown), lat.max);
  });

  it("ran without a script error or a blocked resource (CSP)", () => {
    assert.deepEqual(problems, []);
  });
});
