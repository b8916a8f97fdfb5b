import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { dynamicVariables, missingVariables } from "../../../app/src/call/dynamic-variables.js";
import type { CallIdentity } from "../../../app/src/call/hooks.js";

const identity: CallIdentity = {
  callId: "c",
  callSid: "CA1",
  streamSid: "MZ1",
  accountSid: "AC1",
  from: "+919800000001",
  to: "+918000000002",
  customParameters: {
    customer: "Asha",
    agent_id: "a-1",
    "sample-rate": "16000",
    call_token: "secret-token",
    system__time: "spoofed",
    caller_number: "spoofed",
  },
  sampleRate: 8000,
};

describe("dynamicVariables", () => {
  it("passes custom parameters, drops the bridge's own and system__ ones, and the call's facts win", () => {
    assert.deepEqual(dynamicVariables(identity, {}), {
      customer: "Asha",
      caller_number: "+919800000001",
      called_number: "+918000000002",
      call_sid: "CA1",
      stream_sid: "MZ1",
    });
  });

  it("the plan's variables override custom parameters but not the call's facts", () => {
    const vars = dynamicVariables(identity, {
      dynamicVariables: { customer: "Ravi", call_sid: "x", tier: 2 },
    });
    assert.equal(vars.customer, "Ravi");
    assert.equal(vars.tier, 2);
    assert.equal(vars.call_sid, "CA1");
  });

  it("missingVariables names required variables that are absent or empty", () => {
    const vars = dynamicVariables({ ...identity, from: "" }, {});
    assert.deepEqual(
      missingVariables(vars, { requiredVariables: ["customer", "caller_number", "order_id"] }),
      ["caller_number", "order_id"],
    );
  });
});
