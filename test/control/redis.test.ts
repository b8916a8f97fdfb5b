/**
 * Shared state on a real Redis (a `redis-server` child on a free loopback port; `.ci/run` installs
 * Debian's package): the store itself (TTL, delete, key prefixes, AUTH), then two bridges sharing
 * it: bridge A in this process holds the calls, bridge B is a separate `app/src/main.ts` process
 * that answers Exotel's HTTP requests (Passthru, Connect) and places an outbound call whose stream
 * lands on A. Finally Redis goes away mid-life: calls still connect, and A still answers for the
 * transfer it decided itself.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import type { PeerCertificate } from "node:tls";
import { RedisStore, redisServerIdentity } from "../../app/src/control/state/redis-store.js";
import { createLogger } from "../../app/src/log.js";
import type { LocalAgent } from "../../scripts/lib/local-agent.js";
import {
  dialStream,
  freePort,
  Logs,
  metadataSent,
  type RecordedRequest,
  type RedisServer,
  redisServerBinary,
  request,
  StandIn,
  sleep,
  startAgent,
  startBridge,
  startRedis,
  type TestBridge,
} from "./harness.js";

const binary = redisServerBinary();
// Skipped only on a developer machine without redis-server; in CI (.ci/run installs it) a missing
// binary is a failure, so the shared-state tests can never silently not run.
if (binary === undefined && process.env.CI === "true")
  throw new Error(
    "redis-server is not installed: .ci/run should have installed it (apt-get install redis-server)",
  );
const skip = binary === undefined ? "redis-server is not installed (apt-get install redis-server)" : false;
const PASSWORD = "redis-auth-string-42";
const BEARER = "calls-api-token-0123456789abcdef";
const NUMBERS = "default=+918000000001,sales=+918000000002";
/** Exotel's credentials: the token on the applet URLs, Basic on the stream (so a stream's SID is trusted). */
const HOOK = "redis-hook-token-0123456789";
const STREAM_AUTH = "exokey:exo-stream-secret";

describe("RedisStore", { skip }, () => {
  let redis: RedisServer;
  before(async () => {
    redis = await startRedis(binary as string, PASSWORD);
  });
  after(async () => {
    await redis.stop();
  });

  it("stores with expiry, deletes, keeps prefixes apart, and never logs the URL", async () => {
    const logs = new Logs();
    const log = createLogger("debug", logs.destination);
    const a = new RedisStore({ url: redis.url, keyPrefix: "a:", log });
    const b = new RedisStore({ url: redis.url, keyPrefix: "b:", log });
    try {
      await a.ready();
      await b.ready();
      assert.ok(a.isReady);
      await a.set("k", "one", 60_000);
      assert.equal(await a.get("k"), "one");
      assert.equal(await b.get("k"), undefined, "another prefix is another namespace");
      await a.set("short", "x", 150);
      assert.equal(await a.get("short"), "x");
      await sleep(300);
      assert.equal(await a.get("short"), undefined, "expired");
      await a.delete("k");
      assert.equal(await a.get("k"), undefined);
    } finally {
      await a.close();
      await b.close();
    }
    const wrong = new RedisStore({
      url: `redis://:wrong-password-123@127.0.0.1:${redis.port}`,
      keyPrefix: "c:",
      log,
    });
    try {
      await wrong.ready();
      await assert.rejects(() => wrong.get("k"));
    } finally {
      await wrong.close();
    }
    assert.ok(
      !logs.raw.includes(PASSWORD) && !logs.raw.includes("wrong-password-123"),
      "no credential in logs",
    );
  });
});

/** Test-only certificates (test/fixtures/tls/README.md): the server's names 127.0.0.1 only in its CN. */
const TLS_DIR = path.resolve(import.meta.dirname, "../fixtures/tls");
const REDIS_TLS = {
  certFile: path.join(TLS_DIR, "redis-server-cert.pem"),
  keyFile: path.join(TLS_DIR, "redis-server-key.pem"),
};
const REDIS_CA = readFileSync(path.join(TLS_DIR, "redis-ca.pem"), "utf8");
const OTHER_CA = readFileSync(path.join(TLS_DIR, "redis-other-ca.pem"), "utf8");

describe("RedisStore over TLS (Memorystore with in-transit encryption)", { skip }, () => {
  let redis: RedisServer;
  before(async () => {
    redis = await startRedis(binary as string, PASSWORD, REDIS_TLS);
  });
  after(async () => {
    await redis.stop();
  });

  it("connects to rediss:// with the instance's CA, its IP named only in the certificate's CN", async () => {
    const log = createLogger("silent");
    const store = new RedisStore({ url: redis.url, keyPrefix: "t:", log, caCert: REDIS_CA });
    try {
      await store.ready();
      assert.ok(store.isReady, "TLS session up");
      await store.set("k", "over tls", 60_000);
      assert.equal(await store.get("k"), "over tls");
    } finally {
      await store.close();
    }
  });

  it("refuses a server whose certificate another CA signed, and says so once", async () => {
    const logs = new Logs();
    const store = new RedisStore({
      url: redis.url,
      keyPrefix: "t:",
      log: createLogger("debug", logs.destination),
      caCert: OTHER_CA,
      connectTimeoutMs: 2000,
    });
    try {
      await store.ready();
      assert.equal(store.isReady, false);
      await assert.rejects(() => store.get("k"));
      await sleep(400);
      assert.equal(logs.events("state_store_down").length, 1, "one line per outage, not per retry");
      assert.ok(!logs.raw.includes(PASSWORD), "no credential in logs");
    } finally {
      await store.close();
    }
  });

  it("accepts a CN-only IP name only when it is exactly the host, and never over an IP SAN", () => {
    const cert = (cn: string, san?: string) =>
      ({
        subject: { CN: cn },
        ...(san !== undefined && { subjectaltname: san }),
      }) as unknown as PeerCertificate;
    assert.equal(redisServerIdentity("10.1.2.3", cert("10.1.2.3")), undefined);
    assert.ok(redisServerIdentity("10.1.2.3", cert("10.1.2.4")) instanceof Error);
    assert.ok(redisServerIdentity("10.1.2.3", cert("10.1.2.3", "IP Address:10.9.9.9")) instanceof Error);
    assert.equal(redisServerIdentity("10.1.2.3", cert("x", "IP Address:10.1.2.3")), undefined);
    // Host names keep Node's rules untouched.
    assert.equal(redisServerIdentity("redis.internal", cert("x", "DNS:redis.internal")), undefined);
    assert.ok(redisServerIdentity("redis.internal", cert("redis.other")) instanceof Error);
  });
});

/** Bridge B: the real process, as Cloud Run runs it. */
async function startProcess(
  env: Record<string, string>,
): Promise<{ url: string; child: ChildProcess; out: () => string }> {
  const port = await freePort();
  const root = path.resolve(import.meta.dirname, "../..");
  const child = spawn(process.execPath, ["--import", "tsx", "app/src/main.ts"], {
    cwd: root,
    env: { ...process.env, ...env, BRIDGE_PORT: String(port), BRIDGE_HOST: "127.0.0.1", LOG_LEVEL: "info" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout?.on("data", (c: Buffer) => {
    out += c.toString();
  });
  child.stderr?.on("data", (c: Buffer) => {
    out += c.toString();
  });
  const deadline = Date.now() + 20_000;
  while (!out.includes('"event":"listening"')) {
    if (child.exitCode !== null) throw new Error(`bridge B exited: ${out}`);
    if (Date.now() > deadline) throw new Error(`bridge B did not start: ${out}`);
    await sleep(50);
  }
  return { url: `http://127.0.0.1:${port}`, child, out: () => out };
}

describe("two bridges sharing Redis", { skip }, () => {
  let redis: RedisServer;
  let agent: LocalAgent;
  let exotel: StandIn;
  let a: TestBridge;
  let b: { url: string; child: ChildProcess; out: () => string };

  before(async () => {
    redis = await startRedis(binary as string, PASSWORD);
    agent = await startAgent({ agents: ["agent_default", "agent_sales"] });
    exotel = await new StandIn((req: RecordedRequest) =>
      req.url.pathname.endsWith("/Calls/connect.json")
        ? { status: 200, body: { Call: { Sid: "CAviaB00001", Status: "in-progress" } } }
        : { status: 404 },
    ).listen();
    const shared = {
      ELEVENLABS_BASE_URL: agent.url,
      ELEVENLABS_AGENT_ID: "agent_default",
      REDIS_URL: redis.url,
      TRANSFER_NUMBERS: NUMBERS,
      // Generous: on a loaded 2-core CI machine a Redis round trip from a fresh process can take
      // hundreds of ms. A Redis that is down still fails at once (no offline queue), which the
      // "Redis gone" test below checks.
      STATE_TIMEOUT_MS: "1500",
      CALLS_API_TOKEN: BEARER,
      EXOTEL_ACCOUNT_SID: "ACtest",
      EXOTEL_API_KEY: "k",
      EXOTEL_API_TOKEN: "exotel-api-secret",
      EXOTEL_API_BASE_URL: exotel.url,
      EXOTEL_CALLER_ID: "08047491899",
      EXOTEL_APP_ID: "777",
      EXOTEL_WEBHOOK_TOKEN: HOOK,
      EXOTEL_BASIC_AUTH: STREAM_AUTH,
    };
    a = await startBridge(shared);
    await (a.control.store as RedisStore).ready();
    b = await startProcess(shared);
  });
  after(async () => {
    if (b?.child.exitCode === null) {
      b.child.kill("SIGTERM");
      await once(b.child, "exit");
    }
    await a?.close();
    await exotel?.close();
    await agent?.close();
    await redis?.stop();
  });

  it("A holds the call and decides the transfer; B answers Exotel's Passthru and Connect", async () => {
    const { sock } = await dialStream({ url: a.wsUrl, basicAuth: STREAM_AUTH, callSid: "CAshared001" });
    const conv = await agent.nextConversation();
    await metadataSent(conv);
    conv.sendJson({
      type: "client_tool_call",
      client_tool_call: { tool_name: "transfer_to_human", tool_call_id: "t1", parameters: { team: "sales" } },
    });
    await sock.closed;
    const pass = await request(
      `${b.url}/exotel/passthru?token=${HOOK}&CallSid=CAshared001&Stream%5BStatus%5D=completed`,
    );
    assert.equal(pass.status, 200);
    assert.equal(pass.text, "transfer");
    const conn = await request(
      `${b.url}/exotel/connect?token=${HOOK}&CallSid=CAshared001&CallTo=08047491899`,
    );
    assert.deepEqual((conn.json as { destination: unknown }).destination, { numbers: ["+918000000002"] });
    // A call that ended with end_call on A is "finished" on B.
    const second = await dialStream({ url: a.wsUrl, basicAuth: STREAM_AUTH, callSid: "CAshared002" });
    const conv2 = await agent.nextConversation();
    await metadataSent(conv2);
    conv2.sendJson({
      type: "agent_tool_response",
      agent_tool_response: { tool_name: "end_call", tool_call_id: "e", tool_type: "system", is_error: false },
    });
    conv2.close(1000);
    await second.sock.closed;
    const pass2 = await request(`${b.url}/exotel/passthru?token=${HOOK}&CallSid=CAshared002`);
    assert.equal(pass2.status, 302);
  });

  it("B places an outbound call; its stream lands on A and gets B's plan", async () => {
    const r = await request(`${b.url}/calls`, {
      method: "POST",
      headers: { Authorization: `Bearer ${BEARER}`, "Content-Type": "application/json" },
      body: JSON.stringify({
        to: "+919876543210",
        agent_id: "agent_sales",
        dynamic_variables: { customer_name: "Asha" },
      }),
    });
    assert.equal(r.status, 201, r.text);
    assert.equal((r.json as { call_sid: string }).call_sid, "CAviaB00001");
    const { sock } = await dialStream({ url: a.wsUrl, basicAuth: STREAM_AUTH, callSid: "CAviaB00001" });
    const conv = await agent.nextConversation();
    assert.equal(conv.agentId, "agent_sales");
    await conv.waitFor((c) => c.initiation !== undefined, 3000, "initiation");
    assert.equal(
      (conv.initiation as { dynamic_variables: Record<string, unknown> }).dynamic_variables.customer_name,
      "Asha",
    );
    sock.sendStop();
    sock.close();
    assert.ok(!b.out().includes(PASSWORD), "bridge B never logs the Redis AUTH string");
    assert.ok(!b.out().includes("exotel-api-secret"));
    assert.ok(!a.logs.raw.includes(PASSWORD));
  });

  it("with Redis gone, calls still connect (fast), and A still answers for its own transfer", async () => {
    await redis.stop();
    await sleep(100);
    const t0 = Date.now();
    const { sock } = await dialStream({ url: a.wsUrl, basicAuth: STREAM_AUTH, callSid: "CAnoredis01" });
    const conv = await agent.nextConversation();
    await metadataSent(conv);
    assert.ok(Date.now() - t0 < 2000, "the plan lookup failed fast instead of holding the call");
    assert.equal(conv.agentId, "agent_default");
    conv.sendJson({
      type: "client_tool_call",
      client_tool_call: { tool_name: "transfer_to_human", tool_call_id: "t1", parameters: { team: "sales" } },
    });
    await conv.waitFor((c) => c.toolResults.length === 1, 3000, "tool result");
    assert.equal(
      (conv.toolResults[0] as { is_error: boolean }).is_error,
      false,
      "the caller is still transferred",
    );
    await sock.closed;
    const pass = await request(`${a.httpUrl}/exotel/passthru?token=${HOOK}&CallSid=CAnoredis01`);
    assert.equal(pass.status, 200, "answered from A's own copy");
    await a.logs.waitFor("state_store_down");
  });
});
