import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DTMF_BURST, DTMF_PER_SECOND, DtmfCollector, TokenBucket } from "../../../app/src/call/dtmf.js";

describe("TokenBucket", () => {
  it("allows the burst, then the rate, and counts what it refuses", () => {
    let now = 0;
    const b = new TokenBucket(8, 32, () => now);
    let ok = 0;
    for (let i = 0; i < 1000; i++) if (b.take()) ok++;
    assert.equal(ok, 32);
    assert.equal(b.refused, 968);
    now += 1000;
    ok = 0;
    for (let i = 0; i < 100; i++) if (b.take()) ok++;
    assert.equal(ok, 8);
  });
});

describe("DtmfCollector under a flood", () => {
  it("sends at most the burst at once and reports every dropped digit", () => {
    const sent: string[] = [];
    let dropped = 0;
    const now = 0;
    const d = new DtmfCollector("contextual_update", 1000, (_k, _t, digits) => sent.push(digits), {
      bucket: new TokenBucket(DTMF_PER_SECOND, DTMF_BURST, () => now),
      onDropped: () => dropped++,
    });
    for (let i = 0; i < 10_000; i++) d.push(String(i % 10));
    assert.equal(sent.length, DTMF_BURST);
    assert.equal(dropped, 10_000 - DTMF_BURST);
    assert.equal(d.dropped, dropped);
    d.dispose();
  });
});
