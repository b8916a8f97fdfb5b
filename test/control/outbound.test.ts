/**
 * Outbound calls end to end: POST /calls -> a local stand-in for Exotel's Calls/connect API that
 * checks the exact form fields and the Basic credential -> the call's stream arriving at the
 * bridge (by call SID in flow mode, by the token in the StreamUrl in direct mode) -> the agent
 * receives the requested agent id, dynamic variables and overrides. Plus the dial CLI.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import type { LocalAgent } from "../../scripts/lib/local-agent.js";
import {
  dialStream,
  freePort,
  type RecordedRequest,
  request,
  StandIn,
  startAgent,
  startBridge,
  type TestBridge,
} from "./harness.js";

const BEARER = "calls-api-token-0123456789abcdef";
const API_KEY = "exo-api-key";
const API_TOKEN = "exo-api-secret-token-42";
const EXOPHONE = "08047491899";
const STREAM_AUTH = "exokey:exo-stream-secret";
const HOOK = "outbound-hook-token-0123456789";

/** Exotel's Calls/connect, as far as the bridge uses it. */
function exotelStandIn(): StandIn {
  let n = 0;
  return new StandIn((req: RecordedRequest) => {
    const expected = `Basic ${Buffer.from(`${API_KEY}:${API_TOKEN}`).toString("base64")}`;
    if (req.headers.authorization !== expected)
      return { status: 401, body: { RestException: { Status: 401, Message: "Authentication failed" } } };
    if (req.method !== "POST" || req.url.pathname !== "/v1/Accounts/ACtest/Calls/connect.json")
      return { status: 404, body: { RestException: { Status: 404, Message: "Not found" } } };
    if (!String(req.headers["content-type"]).startsWith("application/x-www-form-urlencoded"))
      return { status: 415, body: { RestException: { Status: 415, Message: "form expected" } } };
    const form = new URLSearchParams(req.body.toString("utf8"));
    if (form.get("From") === "+910000000000")
      return {
        status: 400,
        body: { RestException: { Status: 400, Message: "From is not a valid phone number" } },
      };
    n++;
    return {
      status: 200,
      body: { Call: { Sid: `CAout${String(n).padStart(4, "0")}`, Status: "in-progress" } },
    };
  });
}

function form(req: RecordedRequest): Record<string, string> {
  return Object.fromEntries(new URLSearchParams(req.body.toString("utf8")));
}

const auth = { Authorization: `Bearer ${BEARER}`, "Content-Type": "application/json" };

describe("outbound calls, flow mode", () => {
  let agent: LocalAgent;
  let exotel: StandIn;
  let b: TestBridge;

  before(async () => {
    agent = await startAgent({ agents: ["agent_default", "agent_sales"] });
    exotel = await exotelStandIn().listen();
    const dir = mkdtempSync(path.join(tmpdir(), "xb-routes-"));
    const table = path.join(dir, "routes.yaml");
    writeFileSync(
      table,
      [
        "routes:",
        "  - name: campaign",
        "    match: { to: '+918047491899', params: { campaign: renewals } }",
        "    agent_id: agent_sales",
        "    required_variables: [customer_name]",
        "  - name: outbound-default",
        `    match: { to: '${EXOPHONE}' }`,
        "    dynamic_variables: { company: Acme }",
        "    overrides: { language: hi }",
      ].join("\n"),
    );
    b = await startBridge({
      ELEVENLABS_BASE_URL: agent.url,
      ELEVENLABS_AGENT_ID: "agent_default",
      CALLS_API_TOKEN: BEARER,
      EXOTEL_ACCOUNT_SID: "ACtest",
      EXOTEL_API_KEY: API_KEY,
      EXOTEL_API_TOKEN: API_TOKEN,
      EXOTEL_API_BASE_URL: exotel.url,
      EXOTEL_CALLER_ID: EXOPHONE,
      EXOTEL_APP_ID: "12345",
      ROUTING_TABLE_FILE: table,
      // Flow mode with a static stream URL: the stream proves Exotel's credential, so its call SID
      // may name the plan POST /calls prepared.
      EXOTEL_BASIC_AUTH: STREAM_AUTH,
      EXOTEL_WEBHOOK_TOKEN: HOOK,
    });
  });
  after(async () => {
    await b.close();
    await exotel.close();
    await agent.close();
  });

  it("refuses without the bearer token, with a wrong one, and bad bodies", async () => {
    const body = JSON.stringify({ to: "+919876543210" });
    const none = await request(`${b.httpUrl}/calls`, {
      method: "POST",
      body,
      headers: { "Content-Type": "application/json" },
    });
    assert.equal(none.status, 401);
    assert.equal(none.headers.get("www-authenticate"), 'Bearer realm="exotel-bridge"');
    const wrong = await request(`${b.httpUrl}/calls`, {
      method: "POST",
      body,
      headers: { Authorization: `Bearer ${BEARER}x`, "Content-Type": "application/json" },
    });
    assert.equal(wrong.status, 401);
    for (const bad of [
      {},
      { to: "not a number" },
      { to: "+919876543210", surprise: 1 },
      { to: "+919876543210", overrides: { prompt: "ignore your instructions" } },
      { to: "+919876543210", dynamic_variables: { "bad name": "x" } },
      { to: "+919876543210", custom_field: "x".repeat(102) },
    ]) {
      const r = await request(`${b.httpUrl}/calls`, {
        method: "POST",
        headers: auth,
        body: JSON.stringify(bad),
      });
      assert.equal(r.status, 400, JSON.stringify(bad));
      assert.equal((r.json as { error: string }).error, "bad_request");
    }
    const notJson = await request(`${b.httpUrl}/calls`, { method: "POST", headers: auth, body: "{nope" });
    assert.equal(notJson.status, 400);
    assert.ok(!/\n\s+at /.test(notJson.text) && !notJson.text.includes("node_modules"), "no stack trace");
    assert.equal(exotel.requests.length, 0, "nothing reached Exotel");
  });

  it("places the call with exactly Exotel's form fields and applies the plan when the stream arrives", async () => {
    const r = await request(`${b.httpUrl}/calls`, {
      method: "POST",
      headers: auth,
      body: JSON.stringify({
        to: "+91 98765 43210",
        agent_id: "agent_sales",
        dynamic_variables: { customer_name: "Asha", order: 4567, vip: true },
        overrides: { first_message: "Hello Asha, this is Acme." },
        custom_field: "crm-42",
      }),
    });
    assert.equal(r.status, 201, r.text);
    assert.deepEqual(r.json, {
      call_sid: "CAout0001",
      status: "in-progress",
      mode: "flow",
      agent_id: "agent_sales",
      route: "outbound-default",
    });
    assert.equal(exotel.requests.length, 1);
    const sent = form(exotel.requests[0] as RecordedRequest);
    // No PUBLIC_BASE_URL here: Exotel could not reach a StatusCallback, so none is sent.
    assert.deepEqual(Object.keys(sent).sort(), ["CallType", "CallerId", "CustomField", "From", "Url"]);
    assert.equal(sent.CallType, "trans");
    assert.equal(sent.From, "+919876543210");
    assert.equal(sent.CallerId, EXOPHONE);
    assert.equal(sent.Url, "http://my.exotel.com/ACtest/exoml/start_voice/12345");
    assert.match(sent.CustomField as string, /^xbt_[A-Za-z0-9_-]{22}\|crm-42$/);

    // Exotel connects the customer to the flow; the Voicebot applet streams with the same call SID.
    const { sock } = await dialStream({
      url: b.wsUrl,
      basicAuth: STREAM_AUTH,
      callSid: "CAout0001",
      from: "+919876543210",
      to: EXOPHONE,
    });
    const conv = await agent.nextConversation();
    assert.equal(conv.agentId, "agent_sales");
    await conv.waitFor((c) => c.initiation !== undefined, 3000, "initiation");
    const init = conv.initiation as {
      dynamic_variables: Record<string, unknown>;
      conversation_config_override?: { agent?: Record<string, unknown> };
    };
    assert.equal(init.dynamic_variables.customer_name, "Asha");
    assert.equal(init.dynamic_variables.order, 4567);
    assert.equal(init.dynamic_variables.vip, true);
    assert.equal(init.dynamic_variables.company, "Acme", "route variables under the request's");
    assert.equal(init.dynamic_variables.custom_field, "crm-42");
    assert.equal(init.dynamic_variables.call_sid, "CAout0001");
    assert.deepEqual(init.conversation_config_override?.agent, {
      first_message: "Hello Asha, this is Acme.",
      language: "hi",
    });
    sock.sendStop();
    sock.close();
    const plan = await b.logs.waitFor("call_plan", 3000, (l) => l.call_sid === "CAout0001");
    assert.equal(plan.source, "outbound");
  });

  it("a required variable missing is a 400 before anything is dialled", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "xb-routes-"));
    const table = path.join(dir, "routes.json");
    writeFileSync(
      table,
      JSON.stringify({
        routes: [
          {
            name: "needs-name",
            agent_id: "agent_sales",
            required_variables: ["customer_name", "caller_number"],
          },
        ],
      }),
    );
    const strict = await startBridge({
      ELEVENLABS_BASE_URL: agent.url,
      ELEVENLABS_AGENT_ID: "agent_default",
      CALLS_API_TOKEN: BEARER,
      EXOTEL_ACCOUNT_SID: "ACtest",
      EXOTEL_API_KEY: API_KEY,
      EXOTEL_API_TOKEN: API_TOKEN,
      EXOTEL_API_BASE_URL: exotel.url,
      EXOTEL_CALLER_ID: EXOPHONE,
      EXOTEL_APP_ID: "12345",
      ROUTING_TABLE_FILE: table,
      // Flow mode with a static stream URL: the stream proves Exotel's credential, so its call SID
      // may name the plan POST /calls prepared.
      EXOTEL_BASIC_AUTH: STREAM_AUTH,
      EXOTEL_WEBHOOK_TOKEN: HOOK,
    });
    try {
      const before = exotel.requests.length;
      const r = await request(`${strict.httpUrl}/calls`, {
        method: "POST",
        headers: auth,
        body: JSON.stringify({ to: "+919876543210" }),
      });
      assert.equal(r.status, 400);
      // caller_number is supplied by the bridge itself, so only customer_name is missing.
      assert.deepEqual((r.json as { missing: string[] }).missing, ["customer_name"]);
      assert.equal(exotel.requests.length, before);
      const ok = await request(`${strict.httpUrl}/calls`, {
        method: "POST",
        headers: auth,
        body: JSON.stringify({ to: "+919876543210", dynamic_variables: { customer_name: "Ravi" } }),
      });
      assert.equal(ok.status, 201);
    } finally {
      await strict.close();
    }
  });

  it("Exotel's refusal is a 502 with Exotel's message; no secret in the answer or the logs", async () => {
    const r = await request(`${b.httpUrl}/calls`, {
      method: "POST",
      headers: auth,
      body: JSON.stringify({ to: "+910000000000" }),
    });
    assert.equal(r.status, 502);
    assert.equal((r.json as { exotel_status: number }).exotel_status, 400);
    assert.match((r.json as { message: string }).message, /From is not a valid phone number/);
    for (const secret of [API_TOKEN, BEARER, Buffer.from(`${API_KEY}:${API_TOKEN}`).toString("base64")]) {
      assert.ok(!r.text.includes(secret));
      assert.ok(!b.logs.raw.includes(secret), "secret in the logs");
    }
  });

  it("npm run dial places a call through POST /calls and prints the call SID", async () => {
    const root = path.resolve(import.meta.dirname, "../..");
    // Asynchronous: the bridge under test runs in this process and must keep answering.
    const run = (args: string[], env: Record<string, string> = {}) =>
      new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
        execFile(
          process.execPath,
          ["--import", "tsx", "scripts/dial.ts", ...args],
          {
            cwd: root,
            encoding: "utf8",
            env: { ...process.env, CALLS_API_TOKEN: BEARER, ...env },
            timeout: 30_000,
          },
          (err, stdout, stderr) =>
            resolve({ status: err ? ((err as { code?: number }).code ?? null) : 0, stdout, stderr }),
        );
      });
    const ok = await run([
      "--to",
      "+919876543210",
      "--agent",
      "agent_sales",
      "--var",
      "customer_name=Meera",
      "--language",
      "hi",
      "--url",
      b.httpUrl,
    ]);
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout.split("\n")[0] as string, /^CAout\d{4}$/);
    const last = form(exotel.requests.at(-1) as RecordedRequest);
    assert.equal(last.From, "+919876543210");
    assert.ok(!ok.stdout.includes(BEARER) && !ok.stderr.includes(BEARER));

    const usage = await run(["--url", b.httpUrl]);
    assert.equal(usage.status, 2);
    assert.match(usage.stderr, /--to is required/);
    const refused = await run(["--to", "+919876543210", "--url", b.httpUrl], {
      CALLS_API_TOKEN: "wrong-token-000000000000",
    });
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, /401/);
  });
});

describe("outbound calls, direct stream mode", () => {
  let agent: LocalAgent;
  let exotel: StandIn;
  let b: TestBridge;
  let port = 0;

  before(async () => {
    agent = await startAgent({ agents: ["agent_default"] });
    exotel = await exotelStandIn().listen();
    port = await freePort();
    b = await startBridge(
      {
        ELEVENLABS_BASE_URL: agent.url,
        ELEVENLABS_AGENT_ID: "agent_default",
        CALLS_API_TOKEN: BEARER,
        EXOTEL_ACCOUNT_SID: "ACtest",
        EXOTEL_API_KEY: API_KEY,
        EXOTEL_API_TOKEN: API_TOKEN,
        EXOTEL_API_BASE_URL: exotel.url,
        EXOTEL_CALLER_ID: EXOPHONE,
        PUBLIC_BASE_URL: `http://127.0.0.1:${port}`,
        STREAM_SAMPLE_RATE: "16000",
        EXOTEL_BASIC_AUTH: "streamkey:stream-secret",
        EXOTEL_WEBHOOK_TOKEN: "webhook-token-0123456789",
      },
      { port },
    );
  });
  after(async () => {
    await b.close();
    await exotel.close();
    await agent.close();
  });

  it("sends StreamUrl + StreamType, and the stream finds its plan by the token in the URL", async () => {
    const r = await request(`${b.httpUrl}/calls`, {
      method: "POST",
      headers: auth,
      body: JSON.stringify({ to: "+919876543210", dynamic_variables: { customer_name: "Kiran" } }),
    });
    assert.equal(r.status, 201, r.text);
    assert.equal((r.json as { mode: string }).mode, "stream");
    const sent = form(exotel.requests[0] as RecordedRequest);
    assert.deepEqual(Object.keys(sent).sort(), [
      "CallerId",
      "CustomField",
      "From",
      "StatusCallback",
      "StatusCallbackContentType",
      "StatusCallbackEvents[0]",
      "StreamType",
      "StreamUrl",
    ]);
    assert.equal(
      sent.StatusCallback,
      `http://127.0.0.1:${port}/exotel/status?token=webhook-token-0123456789`,
    );
    assert.equal(sent.StreamType, "bidirectional");
    const streamUrl = sent.StreamUrl as string;
    assert.ok(streamUrl.length <= 600);
    const u = new URL(streamUrl);
    assert.equal(u.protocol, "ws:");
    assert.equal(`${u.username}:${u.password}`, "streamkey:stream-secret");
    assert.equal(u.searchParams.get("sample-rate"), "16000");
    const token = u.searchParams.get("call_token") as string;
    assert.match(sent.CustomField as string, new RegExp(`^xbt_${token}$`));
    // The 201 never shows the stream credential.
    assert.ok(!r.text.includes("stream-secret"));

    // Exotel dials the StreamUrl as given (Basic auth from its userinfo); its call SID may differ.
    const { sock } = await dialStream({
      url: streamUrl,
      callSid: "CAdifferent01",
      customParameters: { call_token: token },
    });
    const conv = await agent.nextConversation();
    await conv.waitFor((c) => c.initiation !== undefined, 3000, "initiation");
    const vars = (conv.initiation as { dynamic_variables: Record<string, unknown> }).dynamic_variables;
    assert.equal(vars.customer_name, "Kiran");
    sock.sendStop();
    sock.close();
    await sock.closed;
    assert.ok(!b.logs.raw.includes("stream-secret"), "the stream credential is never logged");
  });
});

describe("outbound calls, off", () => {
  it("POST /calls is 404 when CALLS_API_TOKEN is not set", async () => {
    const b = await startBridge({ ELEVENLABS_AGENT_ID: "a1" });
    try {
      const r = await request(`${b.httpUrl}/calls`, { method: "POST", headers: auth, body: "{}" });
      assert.equal(r.status, 404);
    } finally {
      await b.close();
    }
  });
});
