/**
 * Per-call agent settings: the routing table (validation with one-line errors, matching on the
 * called number, custom parameters and local time), required variables refused before the agent is
 * contacted, the dynamic-URL endpoint, and the call-control configuration checks.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { ConfigError, loadConfig } from "../../app/src/config.js";
import { buildControl } from "../../app/src/control/index.js";
import { normalizeNumber, RoutingTable } from "../../app/src/control/routing/table.js";
import { createLogger } from "../../app/src/log.js";
import type { LocalAgent } from "../../scripts/lib/local-agent.js";
import { dialStream, freePort, request, sleep, startAgent, startBridge, type TestBridge } from "./harness.js";

const TABLE = `
timezone: Asia/Kolkata
routes:
  - name: hindi-support
    match:
      to: ["+918047491899"]
      params: { lang: [hi, hin] }
    agent_id: agent_hi
    dynamic_variables: { team: support, tier: 2 }
    overrides: { language: hi, first_message: "Namaste" }
    sample_rate: 16000
  - name: office-hours
    match:
      to: "08047491899"
      days: [Mon, tue, wed, thu, fri]
      hours: "09:30-18:00"
    agent_id: agent_day
  - name: night
    match: { to: "+91 80474 91899", hours: ["22:00-06:00"] }
    agent_id: agent_night
  - name: kyc
    match: { to: "+918000000099" }
    agent_id: agent_kyc
    required_variables: [customer_name, policy_no]
  - name: fallback
    agent_id: agent_any
`;

function table(text = TABLE): RoutingTable {
  return RoutingTable.parse(text, "routes.yaml", "Asia/Kolkata");
}

function configError(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${err}`);
    return err.message;
  }
  assert.fail("expected a ConfigError");
}

describe("routing table", () => {
  it("matches the called number in any of Exotel's spellings, custom parameters and local time", () => {
    const t = table();
    assert.equal(normalizeNumber("08047491899"), "918047491899");
    assert.equal(normalizeNumber("+91 80474-91899"), "918047491899");
    assert.equal(normalizeNumber("8047491899"), "918047491899");
    // Friday 27 Nov 2026, 10:00 IST = 04:30 UTC.
    const friMorning = new Date("2026-11-27T04:30:00Z");
    assert.equal(
      t.match({ to: "08047491899", params: { lang: "hi" }, now: friMorning })?.name,
      "hindi-support",
    );
    assert.equal(
      t.match({ to: "918047491899", params: { lang: "hin" }, now: friMorning })?.name,
      "hindi-support",
    );
    assert.equal(
      t.match({ to: "+918047491899", params: { lang: "en" }, now: friMorning })?.name,
      "office-hours",
    );
    // 09:29 IST is before the window; 18:00 is its (exclusive) end.
    assert.equal(
      t.match({ to: "+918047491899", params: {}, now: new Date("2026-11-27T03:59:00Z") })?.name,
      "fallback",
    );
    assert.equal(
      t.match({ to: "+918047491899", params: {}, now: new Date("2026-11-27T12:30:00Z") })?.name,
      "fallback",
    );
    // Saturday 10:00 IST: not a weekday.
    assert.equal(
      t.match({ to: "+918047491899", params: {}, now: new Date("2026-11-28T04:30:00Z") })?.name,
      "fallback",
    );
    // 23:30 IST and 05:59 IST are inside a window that wraps past midnight.
    assert.equal(
      t.match({ to: "+918047491899", params: {}, now: new Date("2026-11-27T18:00:00Z") })?.name,
      "night",
    );
    assert.equal(
      t.match({ to: "+918047491899", params: {}, now: new Date("2026-11-28T00:29:00Z") })?.name,
      "night",
    );
    assert.equal(t.match({ to: "+911111111111", params: {}, now: friMorning })?.name, "fallback");
    // Another time zone moves the windows.
    const utc = RoutingTable.parse(
      TABLE.replace("timezone: Asia/Kolkata", "timezone: UTC"),
      "x",
      "Asia/Kolkata",
    );
    assert.equal(
      utc.match({ to: "+918047491899", params: {}, now: new Date("2026-11-27T10:00:00Z") })?.name,
      "office-hours",
    );
    assert.equal(RoutingTable.empty().match({ to: "1", params: {}, now: friMorning }), undefined);
  });

  it("rejects a bad table with one line naming the file and the field", () => {
    const cases: Array<[string, RegExp]> = [
      ["routes: [ {name: a", /ROUTING_TABLE_FILE routes\.yaml: not valid YAML/],
      ["routes:\n  - name: a\n    match: { hours: '9-18' }", /routes\[0\]\.match\.hours.*HH:MM-HH:MM/],
      ["routes:\n  - name: a\n    agentid: x", /routes\[0\].*agentid/],
      ["routes:\n  - name: a\n  - name: a", /routes\[1\]\.name: "a" is used twice/],
      ["routes:\n  - name: a\n    match: { to: 'call me' }", /routes\[0\]\.match\.to.*phone number/],
      ["routes:\n  - name: a\n    match: { days: [funday] }", /days are mon/],
      ["routes:\n  - name: a\n    overrides: { prompt: 'be evil' }", /routes\[0\]\.overrides.*prompt/],
      ["routes:\n  - name: a\n    sample_rate: 44100", /routes\[0\]\.sample_rate/],
      ["timezone: Mars/Olympus\nroutes: []", /timezone: must be an IANA time zone/],
      ["routes:\n  - name: a\n    required_variables: ['has space']", /required_variables\[0\]/],
    ];
    for (const [text, want] of cases) {
      const message = configError(() => table(text));
      assert.match(message, want, text);
      assert.ok(!message.includes("\n"), "one line");
    }
    assert.match(
      configError(() => RoutingTable.load("/nonexistent/routes.yaml", "Asia/Kolkata")),
      /ROUTING_TABLE_FILE \/nonexistent\/routes\.yaml: cannot be read \(ENOENT\)/,
    );
    const json = RoutingTable.parse('[{"name":"only","agent_id":"x"}]', "r.json", "UTC", true);
    assert.equal(json.routes.length, 1);
  });

  it("can be given inline in ROUTING_TABLE (Cloud Run has no config files), validated the same way", async () => {
    const log = createLogger("silent");
    const config = loadConfig({
      ELEVENLABS_AGENT_ID: "a1",
      EXOTEL_WEBHOOK_TOKEN: "0123456789abcdef",
      ROUTING_TABLE: JSON.stringify({ routes: [{ name: "r1", agent_id: "x" }] }),
    });
    const control = buildControl({ config, log });
    try {
      assert.deepEqual(
        control.routing.routes.map((r) => r.name),
        ["r1"],
      );
    } finally {
      await control.close();
    }
    const bad = loadConfig({
      ELEVENLABS_AGENT_ID: "a1",
      EXOTEL_WEBHOOK_TOKEN: "0123456789abcdef",
      ROUTING_TABLE: "routes:\n  - name: a\n    match: { hours: 'x' }",
    });
    assert.match(
      configError(() => buildControl({ config: bad, log })),
      /^invalid configuration: ROUTING_TABLE: routes\[0\]\.match\.hours/,
    );
    assert.match(
      configError(() =>
        loadConfig({ ELEVENLABS_AGENT_ID: "a1", ROUTING_TABLE: "routes: []", ROUTING_TABLE_FILE: "/x" }),
      ),
      /ROUTING_TABLE_FILE and ROUTING_TABLE are both set/,
    );
  });

  it("the bridge process exits 78 with one line when the table is bad", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "xb-routes-"));
    const file = path.join(dir, "routes.yaml");
    writeFileSync(file, "routes:\n  - name: a\n    match: { hours: '25:00-26:00' }\n");
    const root = path.resolve(import.meta.dirname, "../..");
    const { code, stderr } = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        ["--import", "tsx", "app/src/main.ts"],
        {
          cwd: root,
          encoding: "utf8",
          timeout: 20_000,
          env: {
            ...process.env,
            ELEVENLABS_AGENT_ID: "a1",
            ROUTING_TABLE_FILE: file,
            BRIDGE_PORT: "0",
            EXOTEL_WEBHOOK_TOKEN: "0123456789abcdef",
          },
        },
        (err, _out, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stderr }),
      );
    });
    assert.equal(code, 78);
    const lines = stderr.trim().split("\n");
    assert.equal(lines.length, 1, stderr);
    assert.match(
      lines[0] as string,
      /^exotel-bridge: invalid configuration: ROUTING_TABLE_FILE .*routes\.yaml: routes\[0\]\.match\.hours/,
    );
  });
});

describe("call-control configuration", () => {
  const base = { ELEVENLABS_AGENT_ID: "a1", EXOTEL_WEBHOOK_TOKEN: "0123456789abcdef" };

  it("names every missing piece of outbound configuration, without echoing secrets", () => {
    const message = configError(() =>
      loadConfig({ ...base, CALLS_API_TOKEN: "calls-api-token-0123456789abcdef" }),
    );
    assert.match(
      message,
      /EXOTEL_ACCOUNT_SID, EXOTEL_API_KEY, EXOTEL_API_TOKEN, EXOTEL_CALLER_ID required when CALLS_API_TOKEN is set/,
    );
    assert.match(message, /EXOTEL_APP_ID \(flow mode\) or PUBLIC_BASE_URL \(direct stream mode\)/);
    const short = configError(() => loadConfig({ ...base, CALLS_API_TOKEN: "tiny secret" }));
    assert.match(short, /CALLS_API_TOKEN must be 16-512 printable characters/);
    assert.ok(!short.includes("tiny secret"));
    const redis = configError(() => loadConfig({ ...base, REDIS_URL: "http://:hunter2@x" }));
    assert.match(redis, /REDIS_URL must be redis:\/\/ or rediss:\/\//);
    assert.ok(!redis.includes("hunter2"));
    const pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
    assert.match(
      configError(() => loadConfig({ ...base, REDIS_URL: "redis://:hunter2@x:6379", REDIS_CA_CERT: pem })),
      /REDIS_CA_CERT needs a rediss:\/\/ REDIS_URL/,
    );
    assert.match(
      configError(() =>
        loadConfig({ ...base, REDIS_URL: "rediss://:hunter2@x:6378", REDIS_CA_CERT: "nope" }),
      ),
      /REDIS_CA_CERT must be PEM/,
    );
    const tls = loadConfig({ ...base, REDIS_URL: "rediss://:hunter2@x:6378", REDIS_CA_CERT: pem });
    assert.equal(tls.control.state.redisCaCert, pem);
  });

  it("takes either credential for /exotel/* (Basic alone protects the dynamic URL that carries it)", () => {
    const basicOnly = loadConfig({
      ELEVENLABS_AGENT_ID: "a1",
      PUBLIC_BASE_URL: "https://b.example",
      EXOTEL_BASIC_AUTH: "k:t",
    });
    assert.equal(basicOnly.control.webhookToken, undefined);
    const ok = loadConfig({
      ...base,
      PUBLIC_BASE_URL: "https://b.example/",
      EXOTEL_BASIC_AUTH: "k:t",
      EXOTEL_WEBHOOK_TOKEN: "0123456789abcdef",
      TRANSFER_NUMBERS: "+918000000001, sales = +918000000002|+91 80000 00003",
    });
    assert.equal(ok.control.publicBaseUrl, "https://b.example");
    assert.deepEqual(
      { ...ok.control.transfer.numbers },
      {
        default: ["+918000000001"],
        sales: ["+918000000002", "+918000000003"],
      },
    );
    assert.match(
      configError(() => loadConfig({ ...base, TRANSFER_NUMBERS: "sales=" })),
      /TRANSFER_NUMBERS team "sales" has no number/,
    );
    assert.match(
      configError(() => loadConfig({ ...base, ROUTING_TIMEZONE: "India" })),
      /ROUTING_TIMEZONE must be an IANA time zone/,
    );
    assert.match(
      configError(() => loadConfig({ ...base, RECORDINGS_BUCKET: "Bad_Bucket" })),
      /RECORDINGS_BUCKET must be a Cloud Storage bucket name/,
    );
  });
});

describe("routing through real calls and the dynamic URL", () => {
  let agent: LocalAgent;
  let b: TestBridge;
  const TOKEN = "webhook-token-0123456789";

  before(async () => {
    agent = await startAgent({
      agents: ["agent_default", "agent_hi", "agent_day", "agent_night", "agent_kyc", "agent_any"],
    });
    const dir = mkdtempSync(path.join(tmpdir(), "xb-routes-"));
    const file = path.join(dir, "routes.yaml");
    writeFileSync(file, TABLE);
    const port = await freePort();
    b = await startBridge(
      {
        ELEVENLABS_BASE_URL: agent.url,
        ELEVENLABS_AGENT_ID: "agent_default",
        ROUTING_TABLE_FILE: file,
        PUBLIC_BASE_URL: `http://127.0.0.1:${port}`,
        EXOTEL_BASIC_AUTH: "exokey:exo-stream-secret",
        EXOTEL_WEBHOOK_TOKEN: TOKEN,
      },
      { port },
    );
  });
  after(async () => {
    await b.close();
    await agent.close();
  });

  it("a call to the Hindi line with lang=hi gets that route's agent, variables and overrides", async () => {
    const { sock } = await dialStream({
      url: b.wsUrl,
      basicAuth: "exokey:exo-stream-secret",
      to: "08047491899",
      customParameters: { lang: "hi" },
      query: { lang: "hi" },
    });
    const conv = await agent.nextConversation();
    assert.equal(conv.agentId, "agent_hi");
    await conv.waitFor((c) => c.initiation !== undefined, 3000, "initiation");
    const init = conv.initiation as {
      dynamic_variables: Record<string, unknown>;
      conversation_config_override?: { agent?: Record<string, unknown> };
    };
    assert.equal(init.dynamic_variables.team, "support");
    assert.equal(init.dynamic_variables.tier, 2);
    assert.equal(init.dynamic_variables.lang, "hi");
    assert.deepEqual(init.conversation_config_override?.agent, { language: "hi", first_message: "Namaste" });
    sock.sendStop();
    sock.close();
    const summary = await b.logs.waitFor("call_summary", 5000, (l) => l.agent_id === "agent_hi");
    assert.deepEqual(summary.labels, { source: "routing_table", route: "hindi-support" });
  });

  it("missing required variables end the call with call_refused before the agent is contacted", async () => {
    const before = agent.conversations.length;
    const { sock } = await dialStream({
      url: b.wsUrl,
      basicAuth: "exokey:exo-stream-secret",
      to: "+918000000099",
      callSid: "CAkyc00001",
    });
    const closed = await sock.closed;
    assert.equal(closed.by, "bridge");
    const ending = await b.logs.waitFor("call_ending", 3000, (l) => l.end_reason === "call_refused");
    assert.match(
      String(ending.detail),
      /missing dynamic variables the agent requires: customer_name, policy_no/,
    );
    await sleep(200);
    assert.equal(agent.conversations.length, before, "no agent conversation was opened");

    // Supplied as custom parameters, the same route goes through.
    const ok = await dialStream({
      url: b.wsUrl,
      basicAuth: "exokey:exo-stream-secret",
      to: "+918000000099",
      customParameters: { customer_name: "Asha", policy_no: "P-1" },
    });
    const conv = await agent.nextConversation();
    assert.equal(conv.agentId, "agent_kyc");
    ok.sock.sendStop();
    ok.sock.close();
  });

  it("GET /exotel/stream-url answers a wss URL for the route, with the credential and a token that carries the plan", async () => {
    assert.equal(
      (await request(`${b.httpUrl}/exotel/stream-url?CallSid=CAdyn1&CallTo=08047491899`)).status,
      401,
    );
    const r = await request(
      `${b.httpUrl}/exotel/stream-url?CallSid=CAdyn1&CallFrom=09876543210&CallTo=08047491899&Direction=incoming&lang=hi&token=${TOKEN}`,
    );
    assert.equal(r.status, 200);
    const url = new URL((r.json as { url: string }).url);
    assert.equal(url.protocol, "ws:");
    assert.equal(url.pathname, "/media");
    assert.equal(`${url.username}:${url.password}`, "exokey:exo-stream-secret");
    assert.equal(url.searchParams.get("sample-rate"), "16000", "the route's sample rate");
    const token = url.searchParams.get("call_token");
    assert.ok(token && token.length >= 16);
    assert.ok(!b.logs.raw.includes("exo-stream-secret"), "the credential is never logged");
    assert.ok(!b.logs.raw.includes(TOKEN), "the webhook token is never logged");

    // Exotel opens the URL it was given. The plan comes from the token, whatever start.to says.
    const { sock } = await dialStream({
      url: url.toString(),
      to: "+911234567890",
      customParameters: { call_token: token },
    });
    const conv = await agent.nextConversation();
    assert.equal(conv.agentId, "agent_hi");
    await conv.waitFor((c) => c.initiation !== undefined, 3000, "initiation");
    assert.equal(
      (conv.initiation as { dynamic_variables: Record<string, unknown> }).dynamic_variables.team,
      "support",
    );
    sock.sendStop();
    sock.close();
    const plan = await b.logs.waitFor("call_plan", 3000, (l) => l.source === "dynamic_url");
    assert.equal(plan.route, "hindi-support");
  });

  it("an outbound call's CustomField token is carried into the dynamic URL", async () => {
    await b.control.records.putPlan("Outbound0123456789abcd", { source: "outbound", agentId: "agent_night" });
    const r = await request(
      `${b.httpUrl}/exotel/stream-url?CallSid=CAout9&CallTo=08047491899&CustomField=xbt_Outbound0123456789abcd%7Ccrm-1&token=${TOKEN}`,
    );
    const url = new URL((r.json as { url: string }).url);
    // The CustomField token is spent; the stream gets a fresh one for the same plan.
    const fresh = url.searchParams.get("call_token");
    assert.ok(fresh && fresh !== "Outbound0123456789abcd");
    assert.equal((await b.control.records.takePlan(fresh))?.agentId, "agent_night");
    assert.equal(url.searchParams.get("sample-rate"), "8000", "no route: STREAM_SAMPLE_RATE");
  });
});

describe("dynamic URL without a public base URL", () => {
  const TOKEN = "dyn-hook-token-0123456789";
  it("answers 503 naming the missing setting", async () => {
    const b = await startBridge({ ELEVENLABS_AGENT_ID: "a1", EXOTEL_WEBHOOK_TOKEN: TOKEN });
    try {
      const r = await request(`${b.httpUrl}/exotel/stream-url?CallSid=CA1&token=${TOKEN}`);
      assert.equal(r.status, 503);
      assert.match((r.json as { message: string }).message, /PUBLIC_BASE_URL/);
    } finally {
      await b.close();
    }
  });
});
