import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { measureSetup, summarize } from "../../scripts/setup-time.js";

describe("setup-time", () => {
  it("measures each call from dial to agent connected through the real bridge", async () => {
    const samples = await measureSetup({ calls: 3, format: "pcm_8000" });
    assert.equal(samples.length, 3);
    for (const s of samples) {
      assert.ok(s.handshakeMs > 0 && s.startToAgentMs > 0);
      assert.ok(s.totalMs >= s.handshakeMs + s.startToAgentMs - 1, JSON.stringify(s));
    }
    const stats = summarize(samples);
    assert.equal(stats.calls, 3);
    assert.ok(stats.p50.totalMs <= stats.max.totalMs);
  });
});
