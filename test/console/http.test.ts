/**
 * The console over real HTTP on the real bridge: off without a credential, Basic auth (which
 * credential, refusals without detail, the browser prompt header), the security headers, the
 * event stream (snapshot, live events, client cap) and a real TCP client that stops reading being
 * dropped while a reading one keeps getting events.
 */
import assert from "node:assert/strict";
import net from "node:net";
import { after, before, describe, it } from "node:test";
import { ConfigError, loadConfig } from "../../app/src/config.js";
import { startBridge, type TestBridge } from "../support/bridge.js";
import { basic, SseReader } from "./sse-client.js";

const AGENT = { ELEVENLABS_AGENT_ID: "agent_console_test" };
const CONSOLE = "ops:console-pass-123";
const EXOTEL = "exokey:exotoken-456";

async function get(base: string, path: string, credential?: string): Promise<Response> {
  return fetch(`${base}${path}`, { headers: credential ? { authorization: basic(credential) } : {} });
}

describe("console configuration", () => {
  it("is off without any credential, uses its own or else Exotel's, and can be switched off", () => {
    assert.equal(loadConfig(AGENT).console.basicAuth, undefined);
    assert.equal(loadConfig({ ...AGENT, EXOTEL_BASIC_AUTH: EXOTEL }).console.basicAuth, EXOTEL);
    assert.equal(
      loadConfig({ ...AGENT, EXOTEL_BASIC_AUTH: EXOTEL, CONSOLE_BASIC_AUTH: CONSOLE }).console.basicAuth,
      CONSOLE,
    );
    assert.equal(
      loadConfig({ ...AGENT, CONSOLE_BASIC_AUTH: CONSOLE, CONSOLE_ENABLED: "false" }).console.basicAuth,
      undefined,
    );
  });

  it("rejects a malformed credential without echoing it", () => {
    assert.throws(
      () => loadConfig({ ...AGENT, CONSOLE_BASIC_AUTH: "no-colon-secret" }),
      (err: unknown) =>
        err instanceof ConfigError &&
        /CONSOLE_BASIC_AUTH must be user:password/.test(err.message) &&
        !err.message.includes("no-colon-secret"),
    );
  });
});

describe("console without a credential", () => {
  let b: TestBridge;
  before(async () => {
    b = await startBridge({ ...AGENT }, { level: "silent" });
  });
  after(() => b.close());

  it("does not exist (404, as any unknown path)", async () => {
    for (const path of ["/console", "/console/events", "/console/app.js"]) {
      const res = await get(b.http, path, CONSOLE);
      assert.equal(res.status, 404, path);
      assert.equal(await res.text(), "Not Found");
    }
  });
});

describe("console falling back to the Exotel credential", () => {
  let b: TestBridge;
  before(async () => {
    b = await startBridge({ ...AGENT, EXOTEL_BASIC_AUTH: EXOTEL }, { level: "silent" });
  });
  after(() => b.close());

  it("accepts EXOTEL_BASIC_AUTH", async () => {
    assert.equal((await get(b.http, "/console", EXOTEL)).status, 200);
    assert.equal((await get(b.http, "/console", CONSOLE)).status, 401);
  });
});

describe("console with its own credential", () => {
  let b: TestBridge;
  before(async () => {
    b = await startBridge(
      { ...AGENT, EXOTEL_BASIC_AUTH: EXOTEL, CONSOLE_BASIC_AUTH: CONSOLE },
      { level: "warn" },
    );
  });
  after(() => b.close());

  it("asks a browser for the credential and refuses without detail", async () => {
    for (const credential of [undefined, EXOTEL, "ops:wrong", "ops:console-pass-1234"]) {
      for (const path of ["/console", "/console/events", "/console/app.js", "/console/app.css"]) {
        const res = await get(b.http, path, credential);
        assert.equal(res.status, 401, `${path} with ${credential}`);
        assert.match(res.headers.get("www-authenticate") ?? "", /^Basic realm="[^"]+"/);
        assert.equal(res.headers.get("cache-control"), "no-store");
        assert.equal(await res.text(), "Unauthorized");
      }
    }
    const garbage = await fetch(`${b.http}/console`, { headers: { authorization: "Basic !!!" } });
    assert.equal(garbage.status, 401);
    await b.logs.waitFor((l) => l.some((x) => x.event === "console_auth_refused"), 5000, "refusal log");
    assert.ok(!b.logs.raw.some((l) => l.includes("console-pass") || l.includes("ops:wrong")));
  });

  it("serves the page, script and stylesheet with no-store, nosniff and a CSP without inline code", async () => {
    const page = await get(b.http, "/console", CONSOLE);
    assert.equal(page.status, 200);
    assert.match(page.headers.get("content-type") ?? "", /^text\/html/);
    assert.equal(page.headers.get("cache-control"), "no-store");
    assert.equal(page.headers.get("x-content-type-options"), "nosniff");
    const csp = page.headers.get("content-security-policy") ?? "";
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /script-src 'self'(;|$)/);
    assert.match(csp, /style-src 'self'(;|$)/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.doesNotMatch(csp, /unsafe/);
    const html = await page.text();
    assert.match(html, /<script src="\/console\/app\.js" defer><\/script>/);
    assert.doesNotMatch(html, /<script>|<style|\sstyle=|\son[a-z]+=/i, "no inline script, style or handler");

    const js = await get(b.http, "/console/app.js", CONSOLE);
    assert.match(js.headers.get("content-type") ?? "", /^text\/javascript/);
    assert.match(await js.text(), /new EventSource\(EVENTS_URL\)/);
    const css = await get(b.http, "/console/app.css", CONSOLE);
    assert.match(css.headers.get("content-type") ?? "", /^text\/css/);
  });

  it("streams a snapshot, then events as they are published", async () => {
    const feed = b.bridge.consoleFeed;
    feed.publish({
      type: "call_started",
      callId: "http-1",
      at: Date.now(),
      callSid: "CAhttp1",
      streamSid: "SThttp1",
      from: "+919800000001",
      to: "+918000000000",
      agentId: "agent_console_test",
    });
    const sse = await SseReader.open(`${b.http}/console/events`, basic(CONSOLE));
    try {
      assert.equal(sse.response.statusCode, 200);
      assert.match(sse.response.headers["content-type"] ?? "", /^text\/event-stream/);
      assert.equal(sse.response.headers["cache-control"], "no-store");
      await sse.waitFor((m) => m.length >= 1, "snapshot");
      const snap = sse.messages[0];
      assert.equal(snap?.type, "snapshot");
      assert.ok(snap.type === "snapshot" && snap.active.some((c) => c.callId === "http-1"));

      feed.publish({
        type: "transcript",
        callId: "http-1",
        role: "caller",
        text: "<b>hi</b>",
        at: Date.now(),
      });
      feed.publish({ type: "turn", callId: "http-1", latencyMs: 640, at: Date.now() });
      await sse.waitFor((m) => m.some((x) => x.type === "turn"), "turn event");
      const line = sse.messages.find((x) => x.type === "transcript");
      assert.ok(line?.type === "transcript" && line.text === "<b>hi</b>", "text passes as data, unchanged");
      assert.equal(feed.clientCount, 1);
    } finally {
      sse.close();
    }
    // The server notices the closed connection and forgets the client.
    const deadline = Date.now() + 5000;
    while (feed.clientCount > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.equal(feed.clientCount, 0);
  });

  it("refuses event-stream clients beyond the cap with a bare 503", async () => {
    const feed = b.bridge.consoleFeed;
    const readers: SseReader[] = [];
    try {
      for (let i = 0; i < feed.limits.maxClients; i++) {
        const r = await SseReader.open(`${b.http}/console/events`, basic(CONSOLE));
        readers.push(r);
        await r.waitFor((m) => m.length >= 1, `snapshot ${i}`);
      }
      const extra = await get(b.http, "/console/events", CONSOLE);
      assert.equal(extra.status, 503);
      assert.equal(await extra.text(), "Service Unavailable");
    } finally {
      for (const r of readers) r.close();
    }
  });

  it("drops a client that stops reading; a reading client keeps receiving", async () => {
    const feed = b.bridge.consoleFeed;
    const deadline = Date.now() + 5000;
    while (feed.clientCount > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const reader = await SseReader.open(`${b.http}/console/events`, basic(CONSOLE));
    await reader.waitFor((m) => m.length >= 1, "snapshot");

    // A raw TCP client that sends its request and then never reads a byte.
    const { port } = new URL(b.http);
    const stuck = net.connect(Number(port), "127.0.0.1");
    await new Promise<void>((resolve) => stuck.once("connect", () => resolve()));
    stuck.write(
      `GET /console/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: ${basic(CONSOLE)}\r\n\r\n`,
    );
    stuck.pause();
    const clientsBefore = feed.droppedClients;
    while (feed.clientCount < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.equal(feed.clientCount, 2);

    const text = "स्वागत है ".repeat(50);
    let sent = 0;
    // Kernel socket buffers absorb a few MB first; the bound is on what queues in the bridge after.
    while (feed.droppedClients === clientsBefore && sent < 200_000) {
      feed.publish({ type: "transcript", callId: "flood", role: "agent", text, at: Date.now() });
      sent++;
      if (sent % 200 === 0) await new Promise((r) => setImmediate(r));
    }
    assert.equal(feed.droppedClients, clientsBefore + 1, `stuck client dropped (after ${sent} events)`);
    assert.equal(feed.clientCount, 1);
    feed.publish({ type: "dtmf", callId: "flood", digits: "7", at: Date.now() });
    await reader.waitFor((m) => m.some((x) => x.type === "dtmf"), "event after the drop", 60_000);
    reader.close();
    stuck.destroy();
  });
});
