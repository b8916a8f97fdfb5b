/**
 * The HTTP surface under attack, over real sockets: what a stranger can read, how long a slow client
 * can hold a descriptor, how many it can hold, what a refusal reveals and how loudly it is logged,
 * and what personal data reaches the logs.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import http from "node:http";
import net from "node:net";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { WebSocket } from "ws";
import { type ExotelConnectError, ExotelSocket } from "../../scripts/lib/exotel-caller.js";
import { type Rig, startRig } from "../support/bridge.js";

const TOKEN = "admin-token-0123456789abcdef";
const bearer = { authorization: `Bearer ${TOKEN}` };

/** A live call: the caller's socket is open and the agent has connected. */
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
  await rig.bridge.logs.waitFor(() => rig.bridge.bridge.calls.size === 0, 8000, "call ended");
}

/** GET over a fresh socket with extra headers (fetch cannot set X-Forwarded-For reliably). */
function get(
  base: string,
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(`${base}${path}`, { headers, agent: false }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => {
        body += c;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on("error", reject);
  });
}

describe("who can read what", () => {
  let rig: Rig;
  before(async () => {
    rig = await startRig({ outputFormat: "pcm_8000", inputFormat: "pcm_8000" }, { ADMIN_TOKEN: TOKEN });
  });
  after(() => rig.close());

  it("public /health says up and a count, never a call id; details and metrics need the token", async () => {
    const sock = await liveCall(rig);
    try {
      const pub = await get(rig.bridge.http, "/health");
      assert.equal(pub.status, 200);
      assert.deepEqual(JSON.parse(pub.body), { status: "healthy", active_calls: 1 });
      for (const secret of [sock.callSid, sock.streamSid, "conversation"])
        assert.ok(!pub.body.includes(secret), `public /health leaks ${secret}`);

      for (const path of ["/health/details", "/metrics"]) {
        const anon = await get(rig.bridge.http, path);
        assert.equal(anon.status, 401, `${path} without a credential`);
        assert.equal(anon.body, "Unauthorized");
        assert.match(String(anon.headers["www-authenticate"]), /^Bearer realm=/);
        const wrong = await get(rig.bridge.http, path, { authorization: `Bearer ${TOKEN}x` });
        assert.equal(wrong.status, 401, `${path} with a wrong token`);
        const basic = await get(rig.bridge.http, path, {
          authorization: `Basic ${Buffer.from(`admin:${TOKEN}`).toString("base64")}`,
        });
        assert.equal(basic.status, 401, `${path} with the token as Basic`);
      }
      const details = await get(rig.bridge.http, "/health/details", bearer);
      assert.equal(details.status, 200);
      assert.ok(details.body.includes(sock.callSid), "details list the call for the operator");
      const metrics = await get(rig.bridge.http, "/metrics", bearer);
      assert.equal(metrics.status, 200);
      assert.match(metrics.body, /exotel_bridge_active_calls 1/);
    } finally {
      await endCall(rig, sock);
    }
  });

  it("every answer carries nosniff and no-store, refusals included", async () => {
    for (const path of ["/health", "/healthz", "/metrics", "/nowhere", "/media"]) {
      const res = await get(rig.bridge.http, path);
      assert.equal(res.headers["x-content-type-options"], "nosniff", path);
      assert.equal(res.headers["cache-control"], "no-store", path);
    }
    const refused = await new Promise<http.IncomingMessage>((resolve, reject) => {
      const ws = new WebSocket(`${rig.bridge.url.replace("/media", "/elsewhere")}`);
      ws.on("unexpected-response", (_req, res) => {
        resolve(res);
        ws.terminate();
      });
      ws.on("error", reject);
    });
    assert.equal(refused.statusCode, 404);
    assert.equal(refused.headers["x-content-type-options"], "nosniff");
  });
});

describe("metrics without a credential, by resolved client address", () => {
  it("admits a loopback collector only when no proxy is trusted; behind a proxy the address is the real client's", async () => {
    const direct = await startRig({}, { METRICS_ALLOWED_CIDRS: "127.0.0.1/32,::1/128" });
    try {
      assert.equal((await get(direct.bridge.http, "/metrics")).status, 200, "in-instance collector");
      // The address exemption is for metrics only: details still need the token.
      assert.equal((await get(direct.bridge.http, "/health/details")).status, 401);
    } finally {
      await direct.close();
    }
    // As on Cloud Run: one trusted proxy that appends the client's address. The socket peer is
    // loopback here, which must not matter: only the resolved address counts.
    const proxied = await startRig(
      {},
      { METRICS_ALLOWED_CIDRS: "127.0.0.1/32,::1/128", TRUSTED_PROXY_HOPS: "1" },
    );
    try {
      const h = proxied.bridge.http;
      assert.equal((await get(h, "/metrics", { "x-forwarded-for": "203.0.113.9" })).status, 401);
      assert.equal(
        (await get(h, "/metrics", { "x-forwarded-for": "127.0.0.1, 203.0.113.9" })).status,
        401,
        "a client-supplied loopback entry is not trusted",
      );
      assert.equal((await get(h, "/metrics")).status, 401, "no forwarded address: unknown client");
    } finally {
      await proxied.close();
    }
  });
});

describe("slow clients and descriptor bounds", () => {
  it("times out bodies that trickle in while a call outlives the request timeout", async () => {
    const rig = await startRig(
      { outputFormat: "pcm_8000", inputFormat: "pcm_8000" },
      { HTTP_REQUEST_TIMEOUT_MS: "1500" },
      { level: "info" },
    );
    const trickles: net.Socket[] = [];
    try {
      const sock = await liveCall(rig);
      const port = Number(new URL(rig.bridge.http).port);
      const closedAt: number[] = [];
      const started = Date.now();
      for (let i = 0; i < 100; i++) {
        const s = net.connect(port, "127.0.0.1");
        s.on("error", () => {});
        s.on("close", () => closedAt.push(Date.now() - started));
        s.write(`POST /calls HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n`);
        trickles.push(s);
      }
      const dribble = setInterval(() => {
        for (const s of trickles) if (!s.destroyed) s.write("a");
      }, 300);
      try {
        await new Promise<void>((resolve, reject) => {
          const t = setInterval(() => {
            if (closedAt.length === trickles.length) {
              clearInterval(t);
              resolve();
            } else if (Date.now() - started > 20_000) {
              clearInterval(t);
              reject(
                new Error(`${trickles.length - closedAt.length} trickling requests still open after 20 s`),
              );
            }
          }, 100);
        });
      } finally {
        clearInterval(dribble);
      }
      assert.ok(Math.min(...closedAt) >= 1000, "not cut before the timeout");
      // The call has been up for longer than the request timeout and still carries audio.
      assert.ok(sock.isOpen, "the call survived the request timeout");
      assert.equal(rig.bridge.bridge.calls.size, 1);
      sock.sendMedia(Buffer.alloc(1600));
      const conv = rig.agent.conversations.at(-1);
      await conv?.waitFor((c) => c.userAudio().length > 0, 5000, "caller audio after the timeout");
      await endCall(rig, sock);
    } finally {
      for (const s of trickles) s.destroy();
      await rig.close();
    }
  });

  it("caps open connections; a flood of idle sockets cannot hold more than MAX_CONNECTIONS", async () => {
    const rig = await startRig({}, { MAX_CONNECTIONS: "20" });
    const sockets: net.Socket[] = [];
    try {
      const port = Number(new URL(rig.bridge.http).port);
      let closed = 0;
      for (let i = 0; i < 60; i++) {
        const s = net.connect(port, "127.0.0.1");
        s.on("error", () => {});
        s.on("close", () => {
          closed++;
        });
        sockets.push(s);
      }
      await Promise.all(sockets.map((s) => new Promise((r) => s.once("connect", r).once("close", r))));
      const deadline = Date.now() + 10_000;
      while (closed < 40 && Date.now() < deadline) await sleep(50);
      assert.ok(closed >= 40, `only ${closed} of 60 connections were refused`);
      const count = await new Promise<number>((r, j) =>
        rig.bridge.bridge.server.getConnections((e, n) => (e ? j(e) : r(n))),
      );
      assert.ok(count <= 20, `${count} connections open`);
    } finally {
      for (const s of sockets) s.destroy();
      await rig.close();
    }
  });
});

describe("refusals", () => {
  it("answers 401 before saying anything about load, and logs refusals under a rate limit", async () => {
    const rig = await startRig(
      { outputFormat: "pcm_8000", inputFormat: "pcm_8000" },
      { EXOTEL_BASIC_AUTH: "key:secret-token", MAX_CONCURRENT_CALLS: "1", ADMIN_TOKEN: TOKEN },
      { level: "info" },
    );
    try {
      const sock = await ExotelSocket.connect({
        url: rig.bridge.url,
        sampleRate: 8000,
        basicAuth: "key:secret-token",
      });
      sock.sendConnected();
      sock.sendStart();
      await rig.bridge.logs.waitFor((l) => l.some((x) => x.event === "agent_connected"), 8000);
      const status = (basicAuth?: string) =>
        ExotelSocket.connect({ url: rig.bridge.url, sampleRate: 8000, ...(basicAuth && { basicAuth }) }).then(
          (s) => {
            s.close();
            return 101;
          },
          (e: ExotelConnectError) => e.status ?? 0,
        );
      assert.equal(await status(), 401, "a stranger at capacity");
      assert.equal(await status("key:wrong"), 401, "a wrong credential at capacity");
      assert.equal(await status("key:secret-token"), 503, "Exotel itself learns it is at capacity");

      // A flood of bad upgrades: every one counted, few logged.
      const before = rig.bridge.logs.events("upgrade_refused").length;
      await Promise.all(Array.from({ length: 300 }, () => status()));
      const logged = rig.bridge.logs.events("upgrade_refused").length - before;
      assert.ok(logged <= 40, `${logged} refusal log lines for 300 refusals`);
      const metrics = await get(rig.bridge.http, "/metrics", bearer);
      const refused401 = Number(
        /exotel_bridge_upgrades_refused_total\{status="401"\} (\d+)/.exec(metrics.body)?.[1],
      );
      assert.equal(refused401, 302, "every refusal counted");
      await endCall(rig, sock);
    } finally {
      await rig.close();
    }
  });
});

describe("personal data in the logs", () => {
  async function callWithTranscript(env: Record<string, string>) {
    const rig = await startRig({ outputFormat: "pcm_8000", inputFormat: "pcm_8000" }, env, { level: "info" });
    try {
      const sock = await liveCall(rig, "+919876543210");
      const conv = rig.agent.conversations.at(-1);
      assert.ok(conv);
      conv.sendUserTranscript("my account number is 4567", conv.newEventId());
      conv.sendAgentResponse("thank you Asha", conv.newEventId());
      await sleep(300);
      await endCall(rig, sock);
      await rig.bridge.logs.summary();
      return rig.bridge.logs.raw.join("\n");
    } finally {
      await rig.close();
    }
  }

  it("masks caller numbers and keeps transcripts out of the logs by default", async () => {
    const text = await callWithTranscript({});
    assert.ok(!text.includes("9876543210"), "the caller's number appears in the logs");
    assert.ok(text.includes("+91******3210"), "the masked number is there to tell calls apart");
    assert.ok(!text.includes("account number is 4567"), "the caller's words appear in the logs");
    assert.ok(!text.includes("thank you Asha"), "the agent's words appear in the logs");
  });

  it("logs them in full when the operator says so", async () => {
    const text = await callWithTranscript({ LOG_CALLER_NUMBERS: "full", LOG_TRANSCRIPTS: "lines" });
    assert.ok(text.includes("+919876543210"));
    assert.ok(text.includes("account number is 4567"));
  });
});

describe("start-up errors", () => {
  it("a port in use is one line and exit 78, like any configuration error", async () => {
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, "127.0.0.1", r));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const child = spawn(process.execPath, ["--import", "tsx", "app/src/main.ts"], {
        env: {
          PATH: process.env.PATH ?? "",
          ELEVENLABS_AGENT_ID: "agent_x",
          BRIDGE_PORT: String(port),
          BRIDGE_HOST: "127.0.0.1",
        },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let stderr = "";
      child.stderr.on("data", (d: Buffer) => {
        stderr += d.toString();
      });
      const code = await new Promise<number | null>((r) => child.on("exit", r));
      assert.equal(code, 78, stderr);
      assert.equal(stderr.trim().split("\n").length, 1, stderr);
      assert.match(stderr, new RegExp(`port ${port} on 127.0.0.1 is already in use`));
    } finally {
      blocker.close();
    }
  });
});
