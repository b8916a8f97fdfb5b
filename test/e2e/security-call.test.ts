/**
 * One call under attack, over real sockets: what an upgrade that never starts a call costs us
 * upstream, what a broken signed URL from upstream does to the call and the logs, what a DTMF flood
 * costs, and which personal data a real call leaves in the log lines.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { ExotelSocket } from "../../scripts/lib/exotel-caller.js";
import { type Rig, startRig } from "../support/bridge.js";

async function liveCall(rig: Rig, from = "+919876543210"): Promise<ExotelSocket> {
  const sock = await ExotelSocket.connect({ url: rig.bridge.url, sampleRate: 8000, from });
  sock.sendConnected();
  sock.sendStart();
  await rig.bridge.logs.waitFor((l) => l.some((x) => x.event === "agent_connected"), 8000, "agent_connected");
  return sock;
}

async function endCall(rig: Rig, sock: ExotelSocket): Promise<void> {
  sock.sendStop();
  sock.close();
  await rig.bridge.logs.waitFor(() => rig.bridge.bridge.calls.size === 0, 15_000, "call ended");
}

describe("the agent is contacted only for a call that has started", () => {
  let rig: Rig;
  before(async () => {
    rig = await startRig({ outputFormat: "pcm_8000", inputFormat: "pcm_8000" });
  });
  after(() => rig.close());

  it("50 upgrades opened and dropped before `start` make no signed-URL request", async () => {
    const socks = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        ExotelSocket.connect({ url: rig.bridge.url, sampleRate: 8000 }).then((s) => {
          // Half say `connected` first, as Exotel does; none says `start`.
          if (i % 2 === 0) s.sendConnected();
          return s;
        }),
      ),
    );
    await rig.bridge.logs.waitFor(
      (l) => l.filter((x) => x.event === "call_connecting").length >= 50,
      15_000,
      "50 connections",
    );
    for (const s of socks) s.terminate();
    await rig.bridge.logs.waitFor(() => rig.bridge.bridge.calls.size === 0, 15_000, "all dropped");
    assert.equal(
      rig.agent.signedUrlRequests.length,
      0,
      "signed-URL requests spent on calls that never started",
    );

    // A real call still gets its agent, with one request.
    const sock = await liveCall(rig);
    assert.equal(rig.agent.signedUrlRequests.length, 1);
    await endCall(rig, sock);
  });
});

describe("a malformed signed URL from upstream", () => {
  it("ends the call at once with agent_connect_failed and never logs the URL or its token", async () => {
    const rejections: unknown[] = [];
    const onRejection = (reason: unknown): void => {
      rejections.push(reason);
    };
    process.on("unhandledRejection", onRejection);
    // A generous connect budget: the call must end because of the URL, not because time ran out.
    const rig = await startRig(
      { failure: { kind: "malformed_signed_url" } },
      { AGENT_CONNECT_TIMEOUT_MS: "20000" },
      { level: "trace" },
    );
    try {
      const sock = await ExotelSocket.connect({ url: rig.bridge.url, sampleRate: 8000 });
      sock.sendConnected();
      const started = performance.now();
      sock.sendStart();
      const summary = await rig.bridge.logs.summary(10_000);
      const tookMs = performance.now() - started;
      assert.equal(summary.end_reason, "agent_connect_failed");
      assert.equal((summary.agent_error as { type?: string } | undefined)?.type, "bad_signed_url");
      assert.ok(tookMs < 5000, `the call hung ${Math.round(tookMs)} ms on a URL it cannot open`);
      await sock.closed;
      await sleep(100);
      assert.ok(rig.agent.signedUrlRequests.length >= 1, "the bridge asked for a signed URL");
      const text = rig.bridge.logs.raw.join("\n");
      for (const leak of ["FAKE-SIGNED-URL-TOKEN", "conversation_signature", "local test agent"])
        assert.ok(!text.includes(leak), `a log line holds ${leak}`);
      assert.deepEqual(
        rejections.map((r) => String(r).replace(/FAKE-SIGNED-URL-TOKEN[\w-]*/g, "<token>")),
        [],
        "unhandled rejections",
      );
      assert.equal(rig.bridge.logs.events("unhandled_rejection").length, 0);
    } finally {
      process.off("unhandledRejection", onRejection);
      await rig.close();
    }
  });
});

describe("a DTMF flood", () => {
  it("100,000 dtmf frames: bounded log lines, agent messages and summary", async (t) => {
    const rig = await startRig({ outputFormat: "pcm_8000", inputFormat: "pcm_8000" }, {}, { level: "info" });
    try {
      const sock = await liveCall(rig);
      const conv = rig.agent.conversations.at(-1);
      assert.ok(conv);
      const rssBefore = process.memoryUsage().rss;
      const linesBefore = rig.bridge.logs.raw.length;
      const floodStart = performance.now();
      const N = 100_000;
      // `#` every few digits: without a cap each one is a message to the agent.
      for (let i = 0; i < N; i++) {
        sock.sendDtmf(i % 4 === 3 ? "#" : String(i % 10), 50);
        if (i % 2000 === 1999) await new Promise((r) => setImmediate(r));
      }
      sock.sendStop();
      const summary = await rig.bridge.logs.summary(120_000);
      const floodS = (performance.now() - floodStart) / 1000;
      const rssAfter = process.memoryUsage().rss;
      sock.close();
      await rig.bridge.logs.waitFor(() => rig.bridge.bridge.calls.size === 0, 15_000, "call ended");

      const lines = rig.bridge.logs.raw.slice(linesBefore);
      const dtmfLines = lines.filter((l) => l.includes('"event":"dtmf'));
      const agentMessages = conv.userMessages.length + conv.contextualUpdates.length;
      const summaryBytes = rig.bridge.logs.raw.find((l) => l.includes('"call_summary"'))?.length ?? 0;
      t.diagnostic(
        `flood ${N} frames in ${floodS.toFixed(1)} s: ${lines.length} log lines (${dtmfLines.length} dtmf), ` +
          `${agentMessages} agent messages, call_summary ${summaryBytes} bytes, ` +
          `RSS ${(rssBefore / 2 ** 20).toFixed(0)} -> ${(rssAfter / 2 ** 20).toFixed(0)} MB`,
      );

      assert.equal(summary.dtmf_count, N, "every digit is counted");
      assert.ok(String(summary.dtmf).length <= 64, `summary keeps ${String(summary.dtmf).length} digits`);
      assert.ok((summary.dtmf_dropped as number) > N - 1000, `dropped ${summary.dtmf_dropped}`);
      // Burst plus rate over the time the flood took, with room for a slow machine.
      const bound = 32 + 8 * (floodS + 2) + 10;
      assert.ok(dtmfLines.length <= bound, `${dtmfLines.length} dtmf log lines (bound ${bound})`);
      assert.ok(agentMessages <= bound, `${agentMessages} agent messages (bound ${bound})`);
      assert.ok(summaryBytes < 4096, `call_summary is ${summaryBytes} bytes`);
    } finally {
      await rig.close();
    }
  });
});

describe("personal data in a call's log lines", () => {
  const CALLER = "+919876543210";
  const CALLED = "08012345678";
  /** In the applet URL's custom parameters: they become the agent's dynamic variables. */
  const CUSTOMER = "+919812345678";
  /** Typed on the keypad when the agent asks for a registered mobile number. */
  const TYPED = "9811113333";
  const SAID = "my account number is 4567";
  const ANSWERED = "thank you Asha";

  async function realCall(
    env: Record<string, string>,
  ): Promise<{ text: string; summary: Record<string, unknown> }> {
    const rig = await startRig({ outputFormat: "pcm_8000", inputFormat: "pcm_8000" }, env, {
      level: "trace",
    });
    try {
      const sock = await ExotelSocket.connect({
        url: rig.bridge.url,
        sampleRate: 8000,
        from: CALLER,
        to: CALLED,
        query: { customer_phone: CUSTOMER },
        customParameters: { customer_phone: CUSTOMER, note: `call back on ${CUSTOMER} after 5` },
      });
      sock.sendConnected();
      sock.sendStart();
      await rig.bridge.logs.waitFor(
        (l) => l.some((x) => x.event === "agent_connected"),
        8000,
        "agent_connected",
      );
      const conv = rig.agent.conversations.at(-1);
      assert.ok(conv);
      conv.sendUserTranscript(SAID, conv.newEventId());
      conv.sendAgentResponse(ANSWERED, conv.newEventId());
      for (const d of `${TYPED}#`) sock.sendDtmf(d);
      await conv.waitFor((c) => c.userMessages.includes(TYPED), 5000, "the typed number reaches the agent");
      // The agent still hears everything: privacy is about the logs only.
      assert.equal(
        conv.initiation?.dynamic_variables &&
          (conv.initiation.dynamic_variables as Record<string, string>).customer_phone,
        CUSTOMER,
      );
      await endCall(rig, sock);
      const summary = await rig.bridge.logs.summary();
      return { text: rig.bridge.logs.raw.join("\n"), summary };
    } finally {
      await rig.close();
    }
  }

  it("by default: no full number, no transcript text and no typed digits in any line, at trace level", async () => {
    const { text, summary } = await realCall({});
    for (const n of [CALLER, CALLED, CUSTOMER, TYPED, "9876543210", "9812345678", "8012345678"])
      assert.ok(!text.includes(n), `a log line holds ${n}`);
    for (const words of [SAID, ANSWERED]) assert.ok(!text.includes(words), `a log line holds "${words}"`);
    // Still usable: masked numbers tell calls apart, counts feed dashboards.
    assert.equal(summary.from, "+91******3210");
    assert.equal((summary.custom_parameters as Record<string, string>).customer_phone, "+91******5678");
    assert.equal(summary.transcript_turns, 2);
    assert.equal(summary.dtmf_count, TYPED.length + 1);
    assert.equal(summary.transcript, undefined);
    assert.equal(summary.dtmf, undefined);
  });

  it("with LOG_CALLER_NUMBERS=full and LOG_TRANSCRIPTS=lines they are logged", async () => {
    const { text, summary } = await realCall({ LOG_CALLER_NUMBERS: "full", LOG_TRANSCRIPTS: "lines" });
    for (const s of [CALLER, CALLED, CUSTOMER, SAID, ANSWERED])
      assert.ok(text.includes(s), `no log line holds ${s}`);
    assert.equal(summary.dtmf, `${TYPED}#`);
    assert.equal((summary.custom_parameters as Record<string, string>).customer_phone, CUSTOMER);
    assert.equal((summary.transcript as unknown[]).length, 2);
  });
});
