/**
 * The console in a real headless browser (Debian's chromium through playwright-core) against the
 * real bridge: a person opens /console, gives the credential when asked, and watches a call as
 * its events are published into the bridge's feed: the call's card with both sides' lines, the
 * latency bars, the barge-in and DTMF markers, then the call moving to "last calls" with its end
 * reason. The page must run without a script error or a CSP violation, and must show a hostile
 * transcript as text.
 *
 * Skipped on a machine without chromium; with CI=true a missing chromium is a failure, so this
 * test can never silently not run in CI (.ci/run installs the package).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Browser, Page } from "playwright-core";
import type { ConsoleEvent } from "../../app/src/console/events.js";
import { findChromium, launchChromium } from "../../scripts/lib/chromium.js";
import { startBridge, type TestBridge } from "../support/bridge.js";
import { openConsolePage } from "./console-page.js";

const executable = findChromium();
if (executable === undefined && process.env.CI === "true")
  throw new Error("chromium is not installed: .ci/run should have installed it (apt-get install chromium)");
const skip = executable === undefined ? "chromium is not installed (apt-get install chromium)" : false;

const USER = "ops";
const PASSWORD = "console-pass-123";
const TIMEOUT = 30_000;

describe("console in a real browser", { skip }, () => {
  let bridge: TestBridge;
  let browser: Browser;
  let page: Page;
  let problems: string[] = [];

  const publish = (event: ConsoleEvent) => bridge.bridge.consoleFeed.publish(event);
  const card = () => page.locator("article.call", { hasText: "+919800000001" });
  const text = async (selector: string) => (await page.locator(selector).allInnerTexts()).join("\n");

  before(async () => {
    bridge = await startBridge(
      { ELEVENLABS_AGENT_ID: "agent_browser", CONSOLE_BASIC_AUTH: `${USER}:${PASSWORD}` },
      { level: "silent" },
    );
    browser = await launchChromium(executable as string);
    const opened = await openConsolePage(browser, { username: USER, password: PASSWORD }, TIMEOUT);
    ({ page, problems } = opened);
  });

  after(async () => {
    await browser?.close();
    await bridge?.close();
  });

  it("without the credential the browser gets the Basic challenge and no page", async () => {
    const anonymous = await browser.newContext();
    try {
      const p = await anonymous.newPage();
      const seen: Array<{ status: number; challenge: string | undefined }> = [];
      p.on("response", (r) => {
        if (new URL(r.url()).pathname === "/console")
          seen.push({ status: r.status(), challenge: r.headers()["www-authenticate"] });
      });
      // Headless Chromium has no one to ask: it gives up on the challenge as a navigation error.
      await p.goto(`${bridge.http}/console`).catch(() => undefined);
      assert.equal(seen[0]?.status, 401);
      assert.match(seen[0]?.challenge ?? "", /^Basic realm=/);
      assert.equal(await p.locator("#cards").count(), 0);
    } finally {
      await anonymous.close();
    }
  });

  it("shows a live call: both sides' lines, latency bars, barge-in and DTMF", async () => {
    const res = await page.goto(`${bridge.http}/console`);
    assert.equal(res?.status(), 200);
    await page.locator("#status[data-state='live']").waitFor();
    assert.equal(await page.locator("#status").textContent(), "Live");
    await page.getByText("No calls right now").waitFor();

    const t0 = Date.now();
    publish({
      type: "call_started",
      callId: "browser-1",
      at: t0,
      callSid: "CAbrowser1",
      streamSid: "STbrowser1",
      from: "+919800000001",
      to: "+918000000000",
      agentId: "agent_browser",
      audioPath: "8 kHz PCM ↔ pcm_16000",
    });
    await card().waitFor();
    assert.match(
      (await card().locator(".call-title").textContent()) ?? "",
      /\+919800000001\s*→\s*\+918000000000/,
    );
    assert.match(
      (await card().locator(".call-meta").textContent()) ?? "",
      /agent agent_browser · CallSid CAbrowser1/,
    );
    assert.equal(await page.locator("#active-count").textContent(), "1");
    assert.equal(await page.getByText("No calls right now").isVisible(), false);

    publish({
      type: "transcript",
      callId: "browser-1",
      role: "agent",
      text: "Namaste! How can I help?",
      at: t0 + 900,
    });
    publish({
      type: "transcript",
      callId: "browser-1",
      role: "caller",
      text: "Where is my order?",
      at: t0 + 3000,
    });
    publish({ type: "turn", callId: "browser-1", latencyMs: 640, at: t0 + 3640 });
    publish({
      type: "transcript",
      callId: "browser-1",
      role: "agent",
      text: "Let me look that up for you, it shipped yesterday and should arrive",
      at: t0 + 3700,
    });
    publish({ type: "interruption", callId: "browser-1", at: t0 + 5000 });
    publish({
      type: "agent_correction",
      callId: "browser-1",
      text: "Let me look that up for you",
      at: t0 + 5001,
    });
    publish({
      type: "transcript",
      callId: "browser-1",
      role: "caller",
      text: "<img src=x onerror=alert(1)>",
      at: t0 + 6000,
    });
    publish({ type: "turn", callId: "browser-1", latencyMs: 1250, at: t0 + 7250 });
    publish({ type: "dtmf", callId: "browser-1", digits: "42#", at: t0 + 8000 });
    publish({ type: "turn", callId: "browser-1", latencyMs: 2100, at: t0 + 9000 });

    await card().locator(".bar").nth(2).waitFor();
    const callerLines = await card().locator(".line.caller .text").allInnerTexts();
    const agentLines = await card().locator(".line.agent .text").allInnerTexts();
    assert.deepEqual(callerLines, ["Where is my order?", "<img src=x onerror=alert(1)>"]);
    assert.deepEqual(agentLines, ["Namaste! How can I help?", "Let me look that up for you"]);
    assert.equal(await card().locator(".line.agent .cut").textContent(), "cut off by caller");
    assert.equal(await card().locator("img").count(), 0, "a transcript is shown as text, never as markup");

    // Latency chart: one bar per turn, labelled, coloured by how slow it was, taller when slower.
    const bars = card().locator(".bar");
    assert.deepEqual(await bars.evaluateAll((els) => els.map((e) => e.getAttribute("aria-label"))), [
      "turn 1: 640 ms",
      "turn 2: 1250 ms",
      "turn 3: 2100 ms",
    ]);
    assert.deepEqual(await card().locator(".bar .value").allInnerTexts(), ["640", "1250", "2100"]);
    assert.deepEqual(await bars.evaluateAll((els) => els.map((e) => e.classList[1])), ["ok", "slow", "bad"]);
    const heights = await card()
      .locator(".bar .fill")
      .evaluateAll((els) => els.map((e) => e.getBoundingClientRect().height));
    assert.ok(
      (heights[0] as number) > 0 &&
        (heights[0] as number) < (heights[1] as number) &&
        (heights[1] as number) < (heights[2] as number),
      `bar heights grow with latency: ${heights.join(", ")}`,
    );

    // Markers in the timeline, in order, and the per-call chips.
    assert.equal(
      await card().locator(".marker.barge .label").textContent(),
      "Barge-in: the caller talked over the agent",
    );
    assert.deepEqual(await card().locator(".marker.dtmf kbd").allInnerTexts(), ["4", "2", "#"]);
    const kinds = await card()
      .locator(".timeline > li")
      .evaluateAll((els) => els.map((e) => e.className));
    assert.deepEqual(kinds, [
      "line agent",
      "line caller",
      "line agent",
      "marker barge",
      "line caller",
      "marker dtmf",
    ]);
    const chips = (await card().locator(".chips").textContent()) ?? "";
    assert.match(chips, /Turns\s*3/);
    assert.match(chips, /Barge-ins\s*1/);
    assert.match(chips, /DTMF\s*42#/);
    assert.match(chips, /Avg response\s*1330 ms/);
    assert.match(await page.title(), /^\(1\) Live calls/);
  });

  it("a reload mid-call rebuilds the same picture from the snapshot", async () => {
    await page.reload();
    await page.locator("#status[data-state='live']").waitFor();
    await card().locator(".bar").nth(2).waitFor();
    assert.deepEqual(await card().locator(".line.caller .text").allInnerTexts(), [
      "Where is my order?",
      "<img src=x onerror=alert(1)>",
    ]);
    assert.equal(await card().locator(".marker.barge").count(), 1);
    assert.deepEqual(await card().locator(".marker.dtmf kbd").allInnerTexts(), ["4", "2", "#"]);
  });

  it("moves the ended call to 'last calls' with its end reason and summary", async () => {
    publish({
      type: "call_ended",
      callId: "browser-1",
      at: Date.now(),
      endReason: "caller_hangup",
      endedBy: "caller",
      durationS: 42.3,
      timeToFirstAudioMs: 712,
      responseLatencyMs: { count: 3, avg: 1330, max: 2100 },
      interruptions: 1,
      transcriptTurns: 5,
    });
    await card().waitFor({ state: "detached" });
    await page.getByText("No calls right now").waitFor();
    assert.equal(await page.locator("#active-count").textContent(), "0");
    const row = page.locator("#ended-rows tr", { hasText: "+919800000001" });
    await row.waitFor();
    const cells = await row.locator("td").allInnerTexts();
    assert.equal(cells[1], "+919800000001 → +918000000000");
    assert.equal(cells[2], "0:42");
    assert.match(cells[3] ?? "", /caller_hangup/);
    assert.match(cells[3] ?? "", /caller hung up/);
    assert.equal(cells[4], "712 ms");
    assert.equal(cells[5], "1330 / 2100 ms");
    assert.equal(cells[6], "1");
    assert.equal(cells[7], "5");
    assert.equal(cells[8], "42#");
    assert.match(await text("thead"), /End reason/);
  });

  it("ran without a script error or a blocked resource (CSP)", () => {
    assert.deepEqual(problems, []);
  });
});
