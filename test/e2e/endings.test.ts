/**
 * How calls end, end to end: the agent ending (its goodbye plays in full first), the caller's
 * socket vanishing, every kind of agent failure (each closes Exotel within a bound with one error
 * record and a reason), the one retry for transient setup failures, agent selection, timeouts.
 */
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { ExotelConnectError, ExotelSocket } from "../../scripts/lib/exotel-caller.js";
import type { AgentFailure } from "../../scripts/lib/local-agent.js";
import { ADMIN_HEADERS, API_KEY, type Rig, startBridge, startRig } from "../support/bridge.js";
import { tone } from "../support/dsp.js";

async function dial(
  rig: Rig,
  opts: { query?: Record<string, string>; custom?: Record<string, string> } = {},
) {
  const sock = await ExotelSocket.connect({
    url: rig.bridge.url,
    sampleRate: 8000,
    ...(opts.query && { query: opts.query }),
    ...(opts.custom && { customParameters: opts.custom }),
  });
  sock.sendConnected();
  sock.sendStart();
  return sock;
}

describe("the agent ends the call", () => {
  it("lets the queued goodbye play in full, then closes Exotel (end_call)", async () => {
    const rig = await startRig({ outputFormat: "pcm_8000", inputFormat: "pcm_8000" });
    try {
      const sock = await dial(rig);
      const conv = await rig.agent.nextConversation();
      await rig.bridge.logs.waitFor((l) => l.some((x) => x.event === "agent_connected"), 5000);
      const goodbye = tone(500, 8000, 2000);
      const id = conv.newEventId();
      conv.sendAudio(goodbye, id);
      conv.sendJson({
        type: "agent_tool_response",
        agent_tool_response: {
          tool_name: "end_call",
          tool_call_id: "t1",
          tool_type: "system",
          is_error: false,
          is_called: true,
          event_id: id,
        },
      });
      const t = performance.now();
      conv.close(1000, "end_call");
      const closed = await sock.closed;
      const elapsed = performance.now() - t;
      assert.equal(closed.by, "bridge");
      assert.equal(closed.code, 1000);
      // 2 s of audio, at most 400 ms of it queued ahead when the agent closed.
      // The lower bound is the point (the queued audio played out); the upper one only catches a hang.
      assert.ok(elapsed >= 1500 && elapsed < 6000, `Exotel closed after ${elapsed.toFixed(0)} ms`);
      const audio = Buffer.concat(
        sock.received
          .filter((f) => f.event === "media")
          .map((f) => Buffer.from((f.json as { media: { payload: string } }).media.payload, "base64")),
      );
      assert.ok(audio.subarray(0, goodbye.length).equals(goodbye), "the whole goodbye was sent");
      const summary = await rig.bridge.logs.summary();
      assert.equal(summary.end_reason, "agent_end_call");
      assert.equal(summary.ended_by, "agent");
      assert.deepEqual(summary.agent_close, { code: 1000, reason: "end_call" });
    } finally {
      await rig.close();
    }
  });
});

describe("the caller side goes away", () => {
  it("a dropped Exotel socket (no stop) closes the agent within a second", async () => {
    const rig = await startRig({ outputFormat: "pcm_8000", inputFormat: "pcm_8000" });
    try {
      const sock = await dial(rig);
      const conv = await rig.agent.nextConversation();
      await rig.bridge.logs.waitFor((l) => l.some((x) => x.event === "agent_connected"), 5000);
      const t = performance.now();
      sock.ws.terminate();
      await conv.closed;
      assert.ok(performance.now() - t < 1000);
      const summary = await rig.bridge.logs.summary();
      assert.equal(summary.end_reason, "exotel_disconnected");
    } finally {
      await rig.close();
    }
  });
});

interface FailureCase {
  readonly name: string;
  readonly failure: AgentFailure;
  readonly reason: string;
  readonly detail: RegExp;
  /** Wait for the conversation to start before expecting the end. */
  readonly midCall?: boolean;
}

const FAILURES: FailureCase[] = [
  {
    name: "bad API key (401 on signed URL)",
    failure: { kind: "bad_key" },
    reason: "agent_connect_failed",
    detail: /401.*ELEVENLABS_API_KEY/,
  },
  {
    name: "unknown agent (404)",
    failure: { kind: "unknown_agent" },
    reason: "agent_connect_failed",
    detail: /404.*agent not found/,
  },
  {
    name: "close 1008 after a typed error event",
    failure: { kind: "error_1008", errorType: "missing_dynamic_variable" },
    reason: "agent_error",
    detail: /1008/,
  },
  {
    name: "flat error then 1002 mid-call",
    failure: { kind: "flat_error_1002", afterMs: 300, message: "quota exceeded" },
    reason: "agent_error",
    detail: /1002/,
    midCall: true,
  },
  {
    name: "close 1011 mid-call",
    failure: { kind: "close_1011", afterMs: 300 },
    reason: "agent_error",
    detail: /1011/,
    midCall: true,
  },
  {
    name: "socket dropped mid-call",
    failure: { kind: "drop", afterMs: 300 },
    reason: "agent_disconnected",
    detail: /1006/,
    midCall: true,
  },
  {
    name: "agent never answers (no metadata)",
    failure: { kind: "silence" },
    reason: "agent_timeout",
    detail: /metadata/,
  },
];

describe("agent failures end the call cleanly, with the reason", () => {
  for (const c of FAILURES) {
    it(c.name, async () => {
      const rig = await startRig(
        { failure: c.failure, outputFormat: "pcm_8000", inputFormat: "pcm_8000" },
        { AGENT_CONNECT_TIMEOUT_MS: "2000" },
      );
      try {
        const sock = await dial(rig);
        if (c.midCall)
          await rig.bridge.logs.waitFor((l) => l.some((x) => x.event === "agent_connected"), 5000);
        const t = performance.now();
        const closed = await sock.closed;
        const elapsed = performance.now() - t;
        assert.equal(closed.by, "bridge", "the bridge closes Exotel so the flow moves on");
        assert.ok(elapsed < 6000, `Exotel closed after ${elapsed.toFixed(0)} ms`);
        const summary = await rig.bridge.logs.summary();
        assert.equal(summary.end_reason, c.reason);
        assert.match(String(summary.end_detail), c.detail);
        assert.equal(summary.severity, summary.end_reason === "agent_timeout" ? "ERROR" : summary.severity);
        if (c.failure.kind === "error_1008") {
          assert.equal((summary.agent_error as { type?: string }).type, "missing_dynamic_variable");
        }
        if (c.failure.kind === "flat_error_1002")
          assert.match(JSON.stringify(summary.agent_error), /quota exceeded/);
        const metrics = await (await fetch(`${rig.bridge.http}/metrics`, { headers: ADMIN_HEADERS })).text();
        assert.match(metrics, new RegExp(`exotel_bridge_calls_ended_total\\{reason="${c.reason}"`));
        assert.match(metrics, /exotel_bridge_agent_errors_total\{type="/);
        if (c.failure.kind === "bad_key") {
          // Permanent: never retried.
          assert.equal(rig.agent.signedUrlRequests.length, 1);
        }
      } finally {
        await rig.close();
      }
    });
  }

  it("connection refused and DNS failure end the call with agent_connect_failed (network)", async () => {
    for (const base of ["http://127.0.0.1:9", "http://agent.invalid"]) {
      const b = await startBridge({
        ELEVENLABS_AGENT_ID: "agent_x",
        ELEVENLABS_API_KEY: API_KEY,
        ELEVENLABS_BASE_URL: base,
        AGENT_CONNECT_TIMEOUT_MS: "3000",
      });
      try {
        const sock = await ExotelSocket.connect({ url: b.url, sampleRate: 8000 });
        sock.sendConnected();
        sock.sendStart();
        const closed = await sock.closed;
        assert.equal(closed.by, "bridge");
        const summary = await b.logs.summary();
        assert.equal(summary.end_reason, "agent_connect_failed");
        assert.equal((summary.agent_error as { type?: string }).type, "network");
        assert.ok(b.logs.events("agent_connect_retry").length <= 1, "at most one retry");
      } finally {
        await b.close();
      }
    }
  });
});

describe("one retry saves a call from a transient failure", () => {
  it("a 503 on the first signed-URL request is retried and the call proceeds", async () => {
    const rig = await startRig({ outputFormat: "pcm_8000", inputFormat: "pcm_8000" });
    let requests = 0;
    // A flaky front for the signed-URL endpoint: 503 once, then the local agent's answer.
    const flaky = http.createServer(async (req, res) => {
      requests++;
      if (requests === 1) {
        res.writeHead(503).end();
        return;
      }
      const upstream = await fetch(`${rig.agent.url}${req.url}`, {
        headers: { "xi-api-key": String(req.headers["xi-api-key"]) },
      });
      res.writeHead(upstream.status, { "content-type": "application/json" }).end(await upstream.text());
    });
    await new Promise<void>((r) => flaky.listen(0, "127.0.0.1", r));
    const b = await startBridge({
      ELEVENLABS_AGENT_ID: rig.agent.agentIds[0] as string,
      ELEVENLABS_API_KEY: API_KEY,
      ELEVENLABS_BASE_URL: `http://127.0.0.1:${(flaky.address() as AddressInfo).port}`,
    });
    try {
      const sock = await ExotelSocket.connect({ url: b.url, sampleRate: 8000 });
      sock.sendConnected();
      sock.sendStart();
      await b.logs.waitFor(
        (l) => l.some((x) => x.event === "agent_connected"),
        5000,
        "agent_connected after retry",
      );
      assert.equal(requests, 2);
      assert.equal(b.logs.events("agent_connect_retry").length, 1);
      sock.sendStop();
      sock.close();
      assert.equal((await b.logs.summary()).end_reason, "caller_hangup");
    } finally {
      await b.close();
      flaky.close();
      await rig.close();
    }
  });
});

describe("agent selection", () => {
  it("refuses an agent_id in the URL that is not allowed, before the upgrade (403)", async () => {
    const rig = await startRig({ agents: ["local-test-agent", "agent_b"] });
    try {
      await assert.rejects(
        ExotelSocket.connect({ url: rig.bridge.url, sampleRate: 8000, query: { agent_id: "agent_b" } }),
        (e: unknown) => e instanceof ExotelConnectError && e.status === 403,
      );
    } finally {
      await rig.close();
    }
  });

  it("uses an allowed agent_id from the custom parameters; refuses a disallowed one", async () => {
    const rig = await startRig(
      { agents: ["local-test-agent", "agent_b", "agent_c"] },
      { ELEVENLABS_ALLOWED_AGENT_IDS: "agent_b" },
    );
    try {
      const ok = await dial(rig, { custom: { agent_id: "agent_b" } });
      const conv = await rig.agent.nextConversation();
      assert.equal(conv.agentId, "agent_b");
      const vars = (conv.initiation as { dynamic_variables: Record<string, string> } | undefined)
        ?.dynamic_variables;
      await conv.waitFor((c) => c.initiation !== undefined, 2000);
      assert.equal(
        (conv.initiation as { dynamic_variables: Record<string, string> }).dynamic_variables.agent_id,
        undefined,
        "agent_id is reserved",
      );
      void vars;
      ok.close();
      const bad = await dial(rig, { custom: { agent_id: "agent_c" } });
      const closed = await bad.closed;
      assert.equal(closed.by, "bridge");
      await rig.bridge.logs.waitFor(
        (l) => l.some((x) => x.event === "call_summary" && x.end_reason === "agent_not_allowed"),
        3000,
      );
    } finally {
      await rig.close();
    }
  });
});

describe("timeouts", () => {
  it("closes a connection that never sends start", async () => {
    const rig = await startRig({}, { START_TIMEOUT_MS: "600" });
    try {
      const sock = await ExotelSocket.connect({ url: rig.bridge.url, sampleRate: 8000 });
      sock.sendConnected();
      const closed = await sock.closed;
      assert.equal(closed.by, "bridge");
      assert.equal((await rig.bridge.logs.summary()).end_reason, "start_timeout");
      assert.equal(rig.agent.conversations.length, 0, "no agent conversation is opened without start");
    } finally {
      await rig.close();
    }
  });

  it("ends a call whose media stream stops (caller silence timeout)", async () => {
    const rig = await startRig(
      { outputFormat: "pcm_8000", inputFormat: "pcm_8000" },
      { CALLER_SILENCE_TIMEOUT_MS: "1000" },
    );
    try {
      const sock = await dial(rig);
      const conv = await rig.agent.nextConversation();
      const closed = await sock.closed;
      assert.equal(closed.by, "bridge");
      await conv.closed;
      assert.equal((await rig.bridge.logs.summary()).end_reason, "caller_silence");
    } finally {
      await rig.close();
    }
  });

  it("ends a call at the maximum duration, letting queued audio finish", async () => {
    const rig = await startRig(
      { outputFormat: "pcm_8000", inputFormat: "pcm_8000" },
      { MAX_CALL_DURATION_S: "10" },
    );
    try {
      const sock = await dial(rig);
      await rig.agent.nextConversation();
      // Keep the stream alive with silence so only the duration cap can end it.
      const timer = setInterval(() => sock.isOpen && sock.sendMedia(Buffer.alloc(1600)), 100);
      const closed = await sock.closed;
      clearInterval(timer);
      assert.equal(closed.by, "bridge");
      assert.equal((await rig.bridge.logs.summary()).end_reason, "max_duration");
    } finally {
      await rig.close();
    }
  });
});

void sleep;
