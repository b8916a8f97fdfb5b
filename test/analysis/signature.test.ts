import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { describe, it } from "node:test";
import { ExpiringMap } from "../../app/src/analysis/conversations.js";
import { signBody, verifySignature } from "../../app/src/analysis/index.js";

const SECRET = "wsec_abc";
const BODY = Buffer.from('{"type":"post_call_transcription","data":{"conversation_id":"conv_1"}}');
const NOW = 1_764_450_000_000;
const T = NOW / 1000;

describe("ElevenLabs-Signature", () => {
  it("is t=<seconds>,v0=<hex HMAC-SHA256 of '<t>.<body>'> (the documented scheme)", () => {
    const expected = createHmac("sha256", SECRET).update(`${T}.${BODY.toString()}`).digest("hex");
    assert.equal(signBody(BODY, SECRET, T), `t=${T},v0=${expected}`);
    assert.deepEqual(verifySignature(BODY, `t=${T},v0=${expected}`, SECRET, NOW, 1800), {
      ok: true,
      timestamp: T,
    });
  });

  it("accepts any matching v0 among several (secret rotation) and upper-case hex", () => {
    const good = signBody(BODY, SECRET, T).split("v0=")[1] as string;
    const header = `t=${T}, v0=${"0".repeat(64)}, v0=${good.toUpperCase()}`;
    assert.equal(verifySignature(BODY, header, SECRET, NOW, 1800).ok, true);
  });

  const refusals: Array<[string, string | undefined, Buffer, string]> = [
    ["no header", undefined, BODY, "missing_signature"],
    ["empty header", "", BODY, "missing_signature"],
    ["no timestamp", `v0=${"a".repeat(64)}`, BODY, "malformed_signature"],
    ["no v0", `t=${T}`, BODY, "malformed_signature"],
    ["short hash", `t=${T},v0=abcd`, BODY, "malformed_signature"],
    ["oversized header", `t=${T},${"x".repeat(2000)}`, BODY, "malformed_signature"],
    ["tampered body", signBody(BODY, SECRET, T), Buffer.from(`${BODY.toString()} `), "bad_signature"],
    ["wrong secret", signBody(BODY, "wsec_other", T), BODY, "bad_signature"],
    ["31 minutes old", signBody(BODY, SECRET, T - 31 * 60), BODY, "stale"],
    ["31 minutes ahead", signBody(BODY, SECRET, T + 31 * 60), BODY, "stale"],
  ];
  for (const [what, header, body, reason] of refusals) {
    it(`refuses ${what} as ${reason}`, () => {
      assert.deepEqual(verifySignature(body, header, SECRET, NOW, 1800), { ok: false, reason });
    });
  }

  it("accepts a signature 29 minutes old", () => {
    assert.equal(verifySignature(BODY, signBody(BODY, SECRET, T - 29 * 60), SECRET, NOW, 1800).ok, true);
  });
});

describe("ExpiringMap", () => {
  it("forgets entries after the TTL and keeps at most maxEntries, oldest dropped first", () => {
    let now = 0;
    const m = new ExpiringMap<string>(1000, 3, () => now);
    m.set("a", "1");
    now = 500;
    m.set("b", "2");
    m.set("c", "3");
    m.set("d", "4");
    assert.equal(m.get("a"), undefined, "the oldest went when the fourth arrived");
    assert.equal(m.size, 3);
    now = 1499;
    assert.equal(m.get("b"), "2");
    now = 1500;
    assert.equal(m.get("b"), undefined, "expired");
    assert.equal(m.size, 0);
  });
});
