import assert from "node:assert/strict";
import type { IncomingMessage } from "node:http";
import { describe, it } from "node:test";
import { loadConfig } from "../../app/src/config.js";
import { basicAuthMatches, verifyUpgrade } from "../../app/src/upgrade.js";

function req(url: string, authorization?: string): IncomingMessage {
  return {
    url,
    headers: { authorization },
    socket: { remoteAddress: "10.0.0.1" },
  } as unknown as IncomingMessage;
}

const basic = (s: string) => `Basic ${Buffer.from(s).toString("base64")}`;
const idle = { draining: false, activeCalls: 0 };

describe("basicAuthMatches", () => {
  it("accepts exactly the configured key:token", () => {
    assert.ok(basicAuthMatches(basic("key:tok"), "key:tok"));
    assert.ok(basicAuthMatches(`basic  ${Buffer.from("key:tok").toString("base64")}`, "key:tok"));
    assert.ok(!basicAuthMatches(basic("key:to"), "key:tok"));
    assert.ok(!basicAuthMatches(basic("key:tokk"), "key:tok"));
    assert.ok(!basicAuthMatches(undefined, "key:tok"));
    assert.ok(!basicAuthMatches("Bearer x", "key:tok"));
  });
});

describe("verifyUpgrade", () => {
  const config = loadConfig({
    ELEVENLABS_AGENT_ID: "a0",
    EXOTEL_BASIC_AUTH: "k:t",
    MAX_CONCURRENT_CALLS: "2",
  });

  it("accepts /media with credentials and reads the query", () => {
    const v = verifyUpgrade(req("/media?sample-rate=16000&lang=hi", basic("k:t")), config, idle);
    assert.ok(v.ok);
    if (!v.ok) return;
    assert.equal(v.call.sampleRate, 16000);
    assert.equal(v.call.query.lang, "hi");
    assert.ok(verifyUpgrade(req("/media/", basic("k:t")), config, idle).ok);
  });

  it("refuses with the right status and no detail", () => {
    const status = (r: IncomingMessage, s = idle) => {
      const v = verifyUpgrade(r, config, s);
      return v.ok ? 200 : v.status;
    };
    assert.equal(status(req("/media")), 401);
    assert.equal(status(req("/media", basic("k:x"))), 401);
    assert.equal(status(req("/other", basic("k:t"))), 404);
    assert.equal(status(req("/media?sample-rate=44100", basic("k:t"))), 400);
    assert.equal(status(req("/media?agent_id=evil", basic("k:t"))), 403);
    assert.equal(status(req("/media", basic("k:t")), { draining: true, activeCalls: 0 }), 503);
    assert.equal(status(req("/media", basic("k:t")), { draining: false, activeCalls: 2 }), 503);
  });
});
