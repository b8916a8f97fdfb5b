/**
 * Call control's routes under attack, over real sockets and HTTP: an outsider without Exotel's
 * credential reads nothing (transfer numbers, decisions, live-call timing, stream URLs), a call
 * SID it writes into a stream never picks up another call's plan, a plan token works once, and a
 * flood of oversized requests holds no memory. Configuration that would leave `/exotel/*` open
 * does not start.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { after, before, describe, it } from "node:test";
import { ConfigError, loadConfig } from "../../app/src/config.js";
import { MemoryStore } from "../../app/src/control/state/store.js";
import type { LocalAgent } from "../../scripts/lib/local-agent.js";
import { dialStream, freePort, request, startAgent, startBridge, type TestBridge } from "./harness.js";

const TOKEN = "sec-webhook-token-0123456789";
const BASIC = "exokey:exo-stream-secret";
const basicHeader = { authorization: `Basic ${Buffer.from(BASIC).toString("base64")}` };
const VIP_NUMBER = "+919999900001";
const TABLE = JSON.stringify({
  routes: [
    { name: "vip", match: { to: "+918000000077" }, transfer_numbers: { default: [VIP_NUMBER] } },
    { name: "hindi", match: { params: { lang: "hi" } }, agent_id: "agent_hi" },
  ],
});

function form(fields: number, size: number, extra: Record<string, string> = {}): string {
  const body = new URLSearchParams(extra);
  for (let i = 0; i < fields; i++) body.set(`f${i}`, "x".repeat(size));
  return body.toString();
}
const FORM = { "content-type": "application/x-www-form-urlencoded" };

describe("configuration never leaves /exotel/* open", () => {
  for (const [name, value] of [
    ["TRANSFER_NUMBERS", "+918000000001"],
    ["TRANSFER_ON_FAILURE", "true"],
    ["PUBLIC_BASE_URL", "https://bridge.example.com"],
    ["ROUTING_TABLE", TABLE],
    ["REDIS_URL", "redis://127.0.0.1:6379"],
  ] as const) {
    it(`${name} without EXOTEL_WEBHOOK_TOKEN or EXOTEL_BASIC_AUTH is refused in one line`, () => {
      assert.throws(
        () => loadConfig({ ELEVENLABS_AGENT_ID: "a1", [name]: value }),
        (err: unknown) =>
          err instanceof ConfigError &&
          !err.message.includes("\n") &&
          /EXOTEL_WEBHOOK_TOKEN or EXOTEL_BASIC_AUTH is required/.test(err.message) &&
          err.message.includes(name),
      );
      // Either credential is enough.
      loadConfig({ ELEVENLABS_AGENT_ID: "a1", [name]: value, EXOTEL_WEBHOOK_TOKEN: TOKEN });
      loadConfig({ ELEVENLABS_AGENT_ID: "a1", [name]: value, EXOTEL_BASIC_AUTH: BASIC });
    });
  }

  it("the process stops with exit 78 and one line", async () => {
    const child = spawn(process.execPath, ["--import", "tsx", "app/src/main.ts"], {
      env: {
        PATH: process.env.PATH ?? "",
        ELEVENLABS_AGENT_ID: "a1",
        PORT: "0",
        BRIDGE_HOST: "127.0.0.1",
        TRANSFER_NUMBERS: "+918000000001",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let err = "";
    child.stderr.on("data", (d: Buffer) => {
      err += d.toString();
    });
    // A bridge that starts instead would never exit: stop it so the failure is reported.
    const guard = setTimeout(() => child.kill("SIGKILL"), 20_000);
    const [code] = (await once(child, "exit")) as [number];
    clearTimeout(guard);
    assert.equal(code, 78);
    const lines = err.trim().split("\n");
    assert.equal(lines.length, 1, err);
    assert.match(lines[0] as string, /EXOTEL_WEBHOOK_TOKEN or EXOTEL_BASIC_AUTH is required/);
  });

  it("with no call control and no credential, /exotel/* are not served at all", async () => {
    const b = await startBridge({ ELEVENLABS_AGENT_ID: "a1" });
    try {
      for (const path of ["/exotel/passthru", "/exotel/connect", "/exotel/stream-url"]) {
        const r = await request(`${b.httpUrl}${path}?CallSid=CA1`);
        assert.equal(r.status, 404, path);
      }
    } finally {
      await b.close();
    }
  });
});

describe("every /exotel/* route needs a credential (Basic only configured)", () => {
  let b: TestBridge;
  before(async () => {
    b = await startBridge({
      ELEVENLABS_AGENT_ID: "a1",
      EXOTEL_BASIC_AUTH: BASIC,
      ROUTING_TABLE: TABLE,
      TRANSFER_NUMBERS: "+918000000001",
      PASSTHRU_WAIT_MS: "4000",
    });
  });
  after(async () => {
    await b.close();
  });

  it("Connect: no transfer numbers (not even a VIP route's) without the credential", async () => {
    const url = `${b.httpUrl}/exotel/connect?CallSid=CAvip1&CallTo=%2B918000000077`;
    const refused = await request(url);
    assert.equal(refused.status, 401);
    assert.equal(refused.text, "", "a refusal carries no detail");
    assert.ok(!refused.text.includes(VIP_NUMBER));
    // A token in the URL is no credential when only Basic is configured.
    assert.equal((await request(`${url}&token=${TOKEN}`)).status, 401);
    const ok = await request(url, { headers: basicHeader });
    assert.equal(ok.status, 200);
    assert.deepEqual((ok.json as { destination: unknown }).destination, { numbers: [VIP_NUMBER] });
  });

  it("Passthru: a transfer decision and a live call look the same as an unknown SID, and answer at once", async () => {
    await b.control.records.putTransfer("CAdecided1", { numbers: ["+918000000001"], at: "" });
    await b.control.records.markActive("CAlive0001", 60_000);
    const answers: Array<{ status: number; text: string; ms: number }> = [];
    for (const sid of ["CAdecided1", "CAlive0001", "CAunknown1"]) {
      const t0 = Date.now();
      const r = await request(`${b.httpUrl}/exotel/passthru?CallSid=${sid}`);
      answers.push({ status: r.status, text: r.text, ms: Date.now() - t0 });
    }
    for (const a of answers) {
      assert.equal(a.status, 401);
      assert.equal(a.text, "");
      // The live call would hold the answer for PASSTHRU_WAIT_MS (4 s) if its state were read.
      assert.ok(a.ms < 2000, `answered in ${a.ms} ms`);
    }
    const ok = await request(`${b.httpUrl}/exotel/passthru?CallSid=CAdecided1`, { headers: basicHeader });
    assert.equal(ok.status, 200);
  });

  it("3,000 unauthenticated form POSTs of 120 fields are refused before anything is stored", async () => {
    const store = b.control.store as MemoryStore;
    const sizeBefore = store.size;
    const body = form(120, 256, { CallSid: "CAflood", CallTo: "08047491899" });
    const statuses = new Map<number, number>();
    for (let i = 0; i < 3000; i += 50) {
      await Promise.all(
        Array.from({ length: 50 }, async () => {
          const r = await fetch(`${b.httpUrl}/exotel/connect`, { method: "POST", headers: FORM, body });
          await r.arrayBuffer();
          statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
        }),
      );
    }
    assert.deepEqual([...statuses], [[401, 3000]]);
    assert.equal(store.size, sizeBefore, "nothing was stored");
    // Refusals are logged, but not one line each.
    assert.ok(b.logs.events("exotel_webhook_refused").length < 20);
  });
});

describe("the dynamic URL with Basic only", () => {
  it("hands out no stream URL (which carries the Basic credential) without the credential", async () => {
    const port = await freePort();
    const b = await startBridge(
      { ELEVENLABS_AGENT_ID: "a1", EXOTEL_BASIC_AUTH: BASIC, PUBLIC_BASE_URL: `http://127.0.0.1:${port}` },
      { port },
    );
    try {
      const url = `${b.httpUrl}/exotel/stream-url?CallSid=CAdyn1&lang=hi`;
      const refused = await request(url);
      assert.equal(refused.status, 401);
      assert.equal(refused.text, "");
      const ok = await request(url, { headers: basicHeader });
      assert.equal(ok.status, 200);
      assert.equal(new URL((ok.json as { url: string }).url).password, "exo-stream-secret");
    } finally {
      await b.close();
    }
  });
});

describe("a call's plan is handed over only on proof", () => {
  let agent: LocalAgent;
  let b: TestBridge;
  before(async () => {
    agent = await startAgent({ agents: ["agent_default", "agent_hi", "agent_victim"] });
    const port = await freePort();
    // A token for /exotel/*, and no Basic auth: streams on /media prove nothing.
    b = await startBridge(
      {
        ELEVENLABS_BASE_URL: agent.url,
        ELEVENLABS_AGENT_ID: "agent_default",
        ELEVENLABS_ALLOWED_AGENT_IDS: "*",
        EXOTEL_WEBHOOK_TOKEN: TOKEN,
        ROUTING_TABLE: TABLE,
        PUBLIC_BASE_URL: `http://127.0.0.1:${port}`,
      },
      { port },
    );
  });
  after(async () => {
    await b.close();
    await agent.close();
  });

  async function variablesOfNextCall(): Promise<{ agentId: string; vars: Record<string, unknown> }> {
    const conv = await agent.nextConversation();
    await conv.waitFor((c) => c.initiation !== undefined, 5000, "initiation");
    const vars = (conv.initiation as { dynamic_variables?: Record<string, unknown> }).dynamic_variables ?? {};
    return { agentId: conv.agentId, vars };
  }

  it("a stream that names another call's SID does not get that call's plan", async () => {
    await b.control.records.putPlanBySid("CAvictim01", {
      source: "outbound",
      agentId: "agent_victim",
      dynamicVariables: { customer_name: "Asha", balance: "500000" },
      callSid: "CAvictim01",
    });
    const { sock } = await dialStream({ url: b.wsUrl, callSid: "CAvictim01", to: "+911234567890" });
    const { agentId, vars } = await variablesOfNextCall();
    assert.equal(agentId, "agent_default");
    assert.equal(vars.balance, undefined);
    assert.equal(vars.customer_name, undefined);
    sock.sendStop();
    sock.close();
  });

  it("the dynamic URL finds it by SID only for Exotel (credential), and never for an outsider", async () => {
    const outsider = await request(`${b.httpUrl}/exotel/stream-url?CallSid=CAvictim01`);
    assert.equal(outsider.status, 401);
    assert.equal(outsider.text, "");
    const exotel = await request(`${b.httpUrl}/exotel/stream-url?CallSid=CAvictim01&token=${TOKEN}`);
    const token = new URL((exotel.json as { url: string }).url).searchParams.get("call_token");
    assert.ok(token);
    const { sock } = await dialStream({ url: b.wsUrl, customParameters: { call_token: token } });
    const { agentId, vars } = await variablesOfNextCall();
    assert.equal(agentId, "agent_victim");
    assert.equal(vars.balance, "500000");
    sock.sendStop();
    sock.close();
  });

  it("a plan token works once: a replayed call_token gets the defaults", async () => {
    const r = await request(`${b.httpUrl}/exotel/stream-url?CallSid=CAonce1&lang=hi&token=${TOKEN}`);
    const token = new URL((r.json as { url: string }).url).searchParams.get("call_token");
    assert.ok(token);
    const first = await dialStream({ url: b.wsUrl, customParameters: { call_token: token } });
    assert.equal((await variablesOfNextCall()).agentId, "agent_hi");
    first.sock.sendStop();
    first.sock.close();
    const replay = await dialStream({ url: b.wsUrl, customParameters: { call_token: token } });
    const again = await variablesOfNextCall();
    assert.equal(again.agentId, "agent_default");
    assert.equal(again.vars.lang, undefined);
    replay.sock.sendStop();
    replay.sock.close();
  });

  it("an outbound call's CustomField token is spent by the dynamic URL, which hands the stream a fresh one", async () => {
    const given = "Outbound0123456789abcd";
    await b.control.records.putPlan(given, { source: "outbound", agentId: "agent_victim" });
    const url = `${b.httpUrl}/exotel/stream-url?CallSid=CAout77&CustomField=xbt_${given}&token=${TOKEN}`;
    const first = new URL(((await request(url)).json as { url: string }).url).searchParams.get("call_token");
    assert.ok(first);
    assert.notEqual(first, given);
    const second = new URL(((await request(url)).json as { url: string }).url).searchParams.get("call_token");
    assert.equal(second, null, "the CustomField token no longer names a plan");
  });

  it("custom parameters are capped in count and size, as a stream's are", async () => {
    const r = await request(`${b.httpUrl}/exotel/stream-url?token=${TOKEN}`, {
      method: "POST",
      headers: FORM,
      body: form(120, 200, { CallSid: "CAbig01", long: "y".repeat(1000) }),
    });
    const token = new URL((r.json as { url: string }).url).searchParams.get("call_token");
    assert.ok(token);
    const { sock } = await dialStream({ url: b.wsUrl, customParameters: { call_token: token } });
    const { vars } = await variablesOfNextCall();
    const custom = Object.keys(vars).filter((k) => /^f\d+$/.test(k));
    assert.ok(custom.length > 0 && custom.length <= 16, `${custom.length} custom variables`);
    for (const k of custom)
      assert.ok(String(vars[k]).length <= 512, `${k} is ${String(vars[k]).length} long`);
    sock.sendStop();
    sock.close();
  });

  it("the in-memory store holds a bounded amount whatever is written", async () => {
    const store = new MemoryStore(Date.now, 1024 * 1024);
    try {
      for (let i = 0; i < 3000; i++) await store.set(`plan:${i}`, "x".repeat(8192), 3_600_000);
      assert.ok(store.bytes <= 1024 * 1024, `${store.bytes} bytes held`);
      assert.equal(await store.get("plan:2999"), "x".repeat(8192), "the newest entry is kept");
      assert.equal(await store.get("plan:0"), undefined, "the oldest went first");
    } finally {
      await store.close();
    }
  });
});
