import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { buildCallAnalysis, parseWebhook } from "../../app/src/analysis/payload.js";
import { transcriptionBody } from "./fixtures.js";

describe("call_analysis record", () => {
  it("bounds what a large or odd analysis can put in one log line", () => {
    const criteria: Record<string, unknown> = {};
    const collected: Record<string, unknown> = {};
    for (let i = 0; i < 100; i++) {
      criteria[`c${i}`] = { criteria_id: `c${i}`, result: "failure", rationale: "r".repeat(5000) };
      collected[`d${i}`] = { data_collection_id: `d${i}`, value: { nested: "v".repeat(5000) } };
    }
    const body = JSON.parse(transcriptionBody("conv_big"));
    body.data.analysis.evaluation_criteria_results = criteria;
    body.data.analysis.data_collection_results = collected;
    body.data.analysis.transcript_summary = "s".repeat(50_000);
    body.data.analysis.call_successful = "maybe";
    const parsed = parseWebhook(Buffer.from(JSON.stringify(body)));
    assert.ok(parsed.ok);
    const record = buildCallAnalysis(parsed.webhook, undefined);
    assert.equal(Object.keys(record.evaluation_criteria).length, 32);
    assert.equal(Object.keys(record.data_collection).length, 32);
    assert.equal(record.evaluation_criteria_failed, 32);
    assert.equal(record.call_successful, "unknown", "only success/failure pass through");
    assert.ok((record.transcript_summary ?? "").length <= 2003);
    assert.ok(JSON.stringify(record).length < 60_000, `${JSON.stringify(record).length} characters`);
    assert.equal(typeof record.data_collection.d0, "string", "objects are kept as bounded JSON text");
  });

  it("refuses bodies that are not the documented envelope", () => {
    for (const raw of ["", "nope", "[]", '{"type":"post_call_transcription"}', '{"type":1,"data":{}}']) {
      assert.deepEqual(parseWebhook(Buffer.from(raw)), { ok: false, reason: "malformed" }, raw);
    }
  });
});
