/**
 * AgentLink's connect path against a real HTTP server standing in for the signed-URL endpoint:
 * what a malformed URL does, and that the one retry stays inside the connect budget.
 */
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { describe, it } from "node:test";
import { AgentLink, type AgentLinkHandlers } from "../../../app/src/call/agent-link.js";
import type { AgentConnectError } from "../../../app/src/call-endings.js";
import { agentEndpoints } from "../../../app/src/elevenlabs/hosts.js";

async function signedUrlServer(answer: (n: number) => { status: number; body: unknown }) {
  let requests = 0;
  const server = http.createServer((_req, res) => {
    const a = answer(++requests);
    res.writeHead(a.status, { "content-type": "application/json" });
    res.end(JSON.stringify(a.body));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  return {
    endpoints: agentEndpoints("default", `http://127.0.0.1:${port}`),
    get requests() {
      return requests;
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

function outcome(budgetMs: number, endpoints: ReturnType<typeof agentEndpoints>) {
  const events: string[] = [];
  let done!: (e: AgentConnectError) => void;
  const failed = new Promise<AgentConnectError>((r) => {
    done = r;
  });
  const handlers: AgentLinkHandlers = {
    onOpen: () => events.push("open"),
    onMessage: () => {},
    onFailed: (e) => done(e),
    onRetry: (e) => events.push(`retry ${e.kind}`),
    onClose: () => events.push("close"),
    onError: () => events.push("error"),
    mayRetry: () => true,
  };
  const link = new AgentLink(
    {
      endpoints,
      apiKey: "k",
      connectTimeoutMs: budgetMs,
      maxPayload: 1 << 20,
      maxBufferedBytes: 1 << 20,
      now: () => performance.now(),
    },
    handlers,
  );
  return { link, events, failed };
}

describe("AgentLink connect path", () => {
  it("a malformed signed URL fails at once as bad_signed_url, not retried, the token nowhere", async () => {
    const srv = await signedUrlServer(() => ({
      status: 200,
      body: { signed_url: "ws://bad host/v1/convai/conversation?conversation_signature=TOKEN-XYZ" },
    }));
    const { link, events, failed } = outcome(8000, srv.endpoints);
    try {
      const t0 = performance.now();
      link.prefetch("agent_1");
      link.start("agent_1");
      const err = await failed;
      assert.equal(err.kind, "bad_signed_url");
      assert.ok(!`${err.message} ${err.stack}`.includes("TOKEN-XYZ"), err.message);
      assert.ok(performance.now() - t0 < 3000);
      assert.deepEqual(events, []);
      assert.equal(srv.requests, 1);
    } finally {
      link.close();
      await srv.close();
    }
  });

  it("a transient failure is retried once, and only while the budget allows", async () => {
    const srv = await signedUrlServer(() => ({ status: 503, body: {} }));
    try {
      const roomy = outcome(8000, srv.endpoints);
      roomy.link.prefetch("agent_1");
      roomy.link.start("agent_1");
      assert.equal((await roomy.failed).kind, "upstream");
      assert.deepEqual(roomy.events, ["retry upstream"]);
      assert.equal(srv.requests, 2);
      roomy.link.close();

      // Less than the retry minimum (1.5 s) in the whole budget: no retry.
      const tight = outcome(1000, srv.endpoints);
      tight.link.prefetch("agent_1");
      tight.link.start("agent_1");
      assert.equal((await tight.failed).kind, "upstream");
      assert.deepEqual(tight.events, []);
      assert.equal(srv.requests, 3);
      tight.link.close();
    } finally {
      await srv.close();
    }
  });

  it("nothing is requested before prefetch or start", async () => {
    const srv = await signedUrlServer(() => ({ status: 503, body: {} }));
    const { link } = outcome(8000, srv.endpoints);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(srv.requests, 0);
    link.close();
    await srv.close();
  });
});
