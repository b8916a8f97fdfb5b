import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  customParametersForLog,
  dtmfDigitsLogged,
  maskNumbersInText,
  summaryForLog,
} from "../../../app/src/call/log-privacy.js";
import { buildSummary, CallStats } from "../../../app/src/call/summary.js";
import { signedUrlProblem } from "../../../app/src/elevenlabs/signed-url.js";
import { PRIVACY_DEFAULTS } from "../../../app/src/privacy.js";

const FULL = { callerNumbers: "full", transcripts: "lines" } as const;

describe("maskNumbersInText", () => {
  it("masks every run long enough to be a phone or account number, wherever it sits", () => {
    assert.equal(maskNumbersInText("+919812345678"), "+91******5678");
    assert.equal(maskNumbersInText("call me on 98111 13333 after 5"), "call me on ******3333 after 5");
    assert.equal(maskNumbersInText("a/c 1234567, b 98-76-54-32-10."), "a/c *****67, b ******3210.");
  });

  it("keeps short numbers and text without digits", () => {
    assert.equal(maskNumbersInText("room 12, floor 3"), "room 12, floor 3");
    assert.equal(maskNumbersInText("sales"), "sales");
    assert.equal(maskNumbersInText("12345"), "12345");
  });
});

describe("customParametersForLog", () => {
  const params = { customer_phone: "+919812345678", team: "sales" };
  it("masks by default and passes through with LOG_CALLER_NUMBERS=full", () => {
    assert.deepEqual(customParametersForLog(params, PRIVACY_DEFAULTS), {
      customer_phone: "+91******5678",
      team: "sales",
    });
    assert.equal(customParametersForLog(params, FULL), params);
  });
});

describe("summaryForLog", () => {
  const stats = new CallStats();
  stats.addTurn({ role: "user", text: "my number is 9811113333", at: 1 });
  for (const d of "9811113333#") stats.addDtmf(d);
  const summary = buildSummary({
    callId: "c",
    callSid: "CA1",
    streamSid: "MZ1",
    accountSid: "AC",
    conversationId: "conv",
    agentId: "a",
    from: "+919876543210",
    to: "08012345678",
    sampleRate: 8000,
    agentFormats: undefined,
    customParameters: { customer_phone: "+919812345678" },
    startedAt: new Date(0),
    durationMs: 1000,
    endReason: "caller_hangup",
    endedBy: "caller",
    endDetail: undefined,
    agentClose: undefined,
    agentError: undefined,
    heardAgentMs: 0,
    clearedAgentMs: 0,
    stats,
  });

  it("by default keeps counts and drops the digits, the turns and full custom numbers", () => {
    const logged = summaryForLog(summary, PRIVACY_DEFAULTS);
    const text = JSON.stringify(logged);
    for (const secret of ["9811113333", "9812345678"]) assert.ok(!text.includes(secret), secret);
    assert.equal(logged.dtmf_count, 11);
    assert.equal(logged.transcript_turns, 1);
    assert.equal(logged.transcript, undefined);
    assert.equal(logged.dtmf, undefined);
    // The summary itself (hooks, CALL_LOG_DIR) is untouched.
    assert.equal(summary.dtmf, "9811113333#");
    assert.equal(summary.custom_parameters.customer_phone, "+919812345678");
  });

  it("keeps everything with LOG_TRANSCRIPTS=lines and LOG_CALLER_NUMBERS=full", () => {
    const logged = summaryForLog(summary, FULL);
    assert.equal(logged.dtmf, "9811113333#");
    assert.equal((logged.transcript as unknown[]).length, 1);
    assert.ok(dtmfDigitsLogged(FULL));
    assert.ok(!dtmfDigitsLogged({ callerNumbers: "full", transcripts: "summary" }));
  });
});

describe("CallStats DTMF bounds", () => {
  it("keeps the last 64 digits and counts all of them", () => {
    const st = new CallStats();
    for (let i = 0; i < 10_000; i++) st.addDtmf(String(i % 10));
    assert.equal(st.dtmfCount, 10_000);
    assert.equal(st.dtmf.length, 64);
    assert.equal(st.dtmf.at(-1), "9");
    assert.equal(st.dtmf[0], "6");
  });
});

describe("signedUrlProblem", () => {
  it("accepts what ws can open and names only the defect of what it cannot", () => {
    assert.equal(
      signedUrlProblem("wss://api.elevenlabs.io/v1/convai/conversation?agent_id=a&token=t"),
      undefined,
    );
    const bad = {
      "ws://bad host/x?conversation_signature=SECRET1": "not a valid URL",
      "https://api.elevenlabs.io/x?conversation_signature=SECRET2": "not a ws(s) URL",
      "wss://api.elevenlabs.io/x?conversation_signature=SECRET3#frag": "has a fragment",
    };
    for (const [url, problem] of Object.entries(bad)) {
      assert.equal(signedUrlProblem(url), problem);
    }
    assert.equal(signedUrlProblem(42), "no signed_url string");
    assert.equal(signedUrlProblem(`wss://a/${"x".repeat(9000)}`), "longer than 8192 characters");
  });
});
