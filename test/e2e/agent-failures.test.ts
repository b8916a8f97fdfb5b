/**
 * The rest of the agent-failure matrix (endings.test.ts has the local agent's own failure modes):
 * signed-URL 403 and 429 and 5xx answered by a stand-in, a handshake that never completes, an agent
 * that stops reading, and single malformed frames from the agent, which must be skipped while the
 * good audio around them is delivered.
 */
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { after, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { WebSocketServer } from "ws";
import { ExotelSocket } from "../../scripts/lib/exotel-caller.js";
import { ADMIN_HEADERS, API_KEY, startBridge, startRig } from "../support/bridge.js";
import { tone } from "../support/dsp.js";

/** An HTTP server answering every signed-URL request with `status`; counts the requests. */
async function statusServer(status: number) {
  let requests = 0;
  const server = http.createServer((_req, res) => {
    requests++;
    res.writeHead(status, { "content-type": "application/json" }).end('{"detail":"nope"}');
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests: () => requests,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

async function dialAndWaitForEnd(bridgeUrl: string) {
  const sock = await ExotelSocket.connect({ url: bridgeUrl, sampleRate: 8000 });
  sock.sendConnected();
  sock.sendStart();
  const t = performance.now();
  const closed = await sock.closed;
  return { closed, ms: performance.now() - t };
}

describe("signed-URL refusals", () => {
  const cases: Array<{ status: number; kind: string; attempts: number }> = [
    { status: 403, kind: "auth", attempts: 1 },
    { status: 429, kind: "rate_limited", attempts: 2 },
    { status: 500, kind: "upstream", attempts: 2 },
    { status: 502, kind: "upstream", attempts: 2 },
  ];
  for (const c of cases) {
    it(`HTTP ${c.status}: ${c.kind}, ${c.attempts === 1 ? "not retried" : "retried once"}, the call ends with the reason`, async () => {
      const upstream = await statusServer(c.status);
      const b = await startBridge({
        ELEVENLABS_AGENT_ID: "agent_x",
        ELEVENLABS_API_KEY: API_KEY,
        ELEVENLABS_BASE_URL: upstream.url,
        // A budget the failure must beat by far: the end reason below tells a refusal from a timeout.
        AGENT_CONNECT_TIMEOUT_MS: "10000",
      });
      try {
        const { closed, ms } = await dialAndWaitForEnd(b.url);
        assert.equal(closed.by, "bridge");
        assert.ok(ms < 8000, `ended after ${ms.toFixed(0)} ms`);
        const summary = await b.logs.summary();
        assert.equal(summary.end_reason, "agent_connect_failed");
        assert.deepEqual(
          {
            type: (summary.agent_error as { type: string }).type,
            code: (summary.agent_error as { code: number }).code,
          },
          { type: c.kind, code: c.status },
        );
        assert.equal(upstream.requests(), c.attempts);
        const metrics = await (await fetch(`${b.http}/metrics`, { headers: ADMIN_HEADERS })).text();
        assert.match(
          metrics,
          new RegExp(`exotel_bridge_agent_errors_total\\{type="connect_${c.kind}"\\} ${c.attempts}`),
        );
      } finally {
        await b.close();
        await upstream.close();
      }
    });
  }
});

describe("a handshake that never completes", () => {
  it("times out within the connect budget and ends the call", async () => {
    // Accepts TCP and reads the upgrade request, never answers it.
    const sockets: Socket[] = [];
    const server = http.createServer();
    server.on("upgrade", (_req, socket: Socket) => {
      sockets.push(socket);
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const b = await startBridge({
      ELEVENLABS_AGENT_ID: "agent_x",
      ELEVENLABS_BASE_URL: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      AGENT_CONNECT_TIMEOUT_MS: "1500",
    });
    try {
      const { closed, ms } = await dialAndWaitForEnd(b.url);
      assert.equal(closed.by, "bridge");
      // Not before the 1.5 s budget; the upper bound only catches a call left hanging.
      assert.ok(ms >= 1000 && ms < 6000, `ended after ${ms.toFixed(0)} ms`);
      const summary = await b.logs.summary();
      assert.ok(
        summary.end_reason === "agent_connect_failed" || summary.end_reason === "agent_timeout",
        String(summary.end_reason),
      );
      assert.match(JSON.stringify(summary.agent_error), /timed out|timeout/i);
    } finally {
      await b.close();
      for (const s of sockets) s.destroy();
      server.close();
    }
  });
});

describe("an agent that stops reading", () => {
  it("ends only its own call (slow_peer) instead of buffering without bound", async () => {
    const server = http.createServer();
    const wss = new WebSocketServer({ server });
    wss.on("connection", (ws, req) => {
      ws.once("message", () => {
        ws.send(
          JSON.stringify({
            type: "conversation_initiation_metadata",
            conversation_initiation_metadata_event: {
              conversation_id: "conv_stalled",
              agent_output_audio_format: "pcm_8000",
              user_input_audio_format: "pcm_8000",
            },
          }),
        );
        // Then stop reading: the bridge's writes back up in the kernel, then in ws.
        (req.socket as Socket).pause();
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const b = await startBridge({
      ELEVENLABS_AGENT_ID: "agent_x",
      ELEVENLABS_BASE_URL: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      MAX_SOCKET_BUFFER_BYTES: "65536",
      EXOTEL_MAX_MESSAGE_BYTES: "1048576",
    });
    try {
      const sock = await ExotelSocket.connect({ url: b.url, sampleRate: 8000 });
      sock.sendConnected();
      sock.sendStart();
      await b.logs.waitFor((l) => l.some((x) => x.event === "agent_connected"), 5000);
      // Far more caller audio than the kernel buffers hold, as fast as the socket takes it.
      const big = Buffer.alloc(256_000, 5);
      for (let i = 0; i < 120 && sock.isOpen; i++) {
        sock.sendMedia(big);
        if (i % 10 === 9) await sleep(5);
      }
      const closed = await Promise.race([sock.closed, sleep(15_000).then(() => undefined)]);
      assert.ok(closed, "the stalled call ended");
      const summary = await b.logs.summary();
      assert.equal(summary.end_reason, "slow_peer");
      assert.match(String(summary.end_detail), /agent socket has \d+ bytes unsent/);
      assert.equal((await fetch(`${b.http}/healthz`)).status, 200);
    } finally {
      await b.close();
      for (const c of wss.clients) c.terminate();
      wss.close();
      server.close();
    }
  });
});

describe("single malformed frames from the agent", () => {
  let rig: Awaited<ReturnType<typeof startRig>> | undefined;
  after(async () => {
    await rig?.close();
  });

  it("are logged and skipped; the good audio around them is delivered and the call goes on", async () => {
    rig = await startRig({ outputFormat: "pcm_8000", inputFormat: "pcm_8000" });
    const sock = await ExotelSocket.connect({ url: rig.bridge.url, sampleRate: 8000 });
    sock.sendConnected();
    sock.sendStart();
    const conv = await rig.agent.nextConversation();
    await rig.bridge.logs.waitFor((l) => l.some((x) => x.event === "agent_connected"), 5000);
    const id = conv.newEventId();
    const a = tone(400, 8000, 500);
    const b = tone(800, 8000, 500);
    conv.sendAudio(a, id);
    conv.sendRaw("{not json");
    conv.sendRaw(Buffer.from([0xde, 0xad, 0xbe, 0xef]));
    conv.sendJson({ type: "audio", audio_event: { audio_base_64: 12345, event_id: id } });
    conv.sendJson({ type: "audio", audio_event: { event_id: id } });
    conv.sendAudio(b, id);
    await sock.waitFor((f) => f.some((x) => x.event === "mark"), 5000, "end-of-response mark");
    const heard = Buffer.concat(
      sock.received
        .filter((f) => f.event === "media")
        .map((f) => Buffer.from((f.json as { media: { payload: string } }).media.payload, "base64")),
    );
    assert.ok(
      heard.subarray(0, a.length + b.length).equals(Buffer.concat([a, b])),
      "good audio intact, in order",
    );
    const bad = rig.bridge.logs.events("bad_frame").filter((l) => l.source === "agent");
    assert.deepEqual(
      bad.map((l) => l.code),
      ["invalid_json", "binary_frame", "invalid_field", "missing_field"],
    );
    assert.ok(bad.every((l) => l.severity === "WARNING"));
    // Still a working call: a ping is answered, the caller's audio still flows.
    const ping = conv.ping();
    await conv.waitFor((c) => c.pongs.some((p) => p.eventId === ping), 2000, "pong after bad frames");
    assert.ok(sock.isOpen && conv.isOpen);
    sock.sendStop();
    sock.close();
    const summary = await rig.bridge.logs.summary();
    assert.equal(summary.end_reason, "caller_hangup");
    assert.deepEqual(summary.bad_frames, { exotel: 0, agent: 4 });
  });
});
