import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ConfigError, loadConfig } from "../../app/src/config.js";

const base = { ELEVENLABS_AGENT_ID: "agent_x" };

describe("configuration: HTTP surface, access and log privacy", () => {
  it("defaults: closed admin surface, 30 s requests, connections from the call limit, masked numbers, no transcripts", () => {
    const c = loadConfig(base);
    assert.equal(c.access.adminToken, undefined);
    assert.equal(c.access.metricsAllowedCidrs, undefined);
    assert.equal(c.http.requestTimeoutMs, 30_000);
    assert.equal(c.http.maxConnections, 500 + 256);
    assert.deepEqual(c.privacy, { callerNumbers: "masked", transcripts: "off" });
    assert.equal(c.logFormat, "auto");
  });

  it("reads every variable", () => {
    const c = loadConfig({
      ...base,
      ADMIN_TOKEN: "a-long-admin-token-123",
      METRICS_ALLOWED_CIDRS: "127.0.0.1/32, ::1/128",
      HTTP_REQUEST_TIMEOUT_MS: "5000",
      MAX_CONNECTIONS: "900",
      LOG_CALLER_NUMBERS: "FULL",
      LOG_TRANSCRIPTS: "summary",
      LOG_FORMAT: "json",
    });
    assert.equal(c.access.adminToken, "a-long-admin-token-123");
    assert.deepEqual(c.access.metricsAllowedCidrs, ["127.0.0.1/32", "::1/128"]);
    assert.equal(c.http.requestTimeoutMs, 5000);
    assert.equal(c.http.maxConnections, 900);
    assert.deepEqual(c.privacy, { callerNumbers: "full", transcripts: "summary" });
    assert.equal(c.logFormat, "json");
  });

  it("refuses a short token without echoing it, bad ranges and unknown modes", () => {
    assert.throws(
      () =>
        loadConfig({
          ...base,
          ADMIN_TOKEN: "short",
          METRICS_ALLOWED_CIDRS: "localhost",
          LOG_TRANSCRIPTS: "all",
        }),
      (e: unknown) =>
        e instanceof ConfigError &&
        /ADMIN_TOKEN must be 16 or more/.test(e.message) &&
        !e.message.includes('"short"') &&
        /METRICS_ALLOWED_CIDRS has invalid CIDR ranges: localhost/.test(e.message) &&
        /LOG_TRANSCRIPTS must be one of off\|summary\|lines/.test(e.message),
    );
  });
});
