// A production stack under an organisation policy that forbids allUsers bindings: public through
// Cloud Run's disabled invoker IAM check instead, closed by the allow-list of Exotel's addresses.
// Monitoring is off here, so the deployer check covers the base roles alone (the BigQuery link of the
// analytics bucket and the APIs are still created), and the console stays off as production wants.
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import {
  assertDeployerCanCreate,
  ofType,
  PROJECT_ID,
  type ProgramRun,
  plain,
  runProgram,
  single,
} from "./support/harness";

let run: ProgramRun;

before(async () => {
  run = await runProgram(
    {
      "gcp:project": PROJECT_ID,
      "exotel-bridge:elevenlabsApiKey": "sk_private_1234",
      "exotel-bridge:elevenlabsAgentId": "agent_private_5678",
      "exotel-bridge:production": "true",
      "exotel-bridge:exotelAllowedCidrs": "203.0.113.0/24",
      "exotel-bridge:invokerIamDisabled": "true",
      "exotel-bridge:monitoring": "false",
    },
    ["exotel-bridge:elevenlabsApiKey"],
  );
});

describe("program with invokerIamDisabled", () => {
  it("disables the invoker check on the service and binds nothing to allUsers", () => {
    const service = plain(single(run, "gcp:cloudrunv2/service:Service").inputs) as Record<string, unknown>;
    assert.equal(service.invokerIamDisabled, true);
    assert.equal(ofType(run, "gcp:cloudrunv2/serviceIamMember:ServiceIamMember").length, 0);
    const members = run.resources.map((r) => plain(r.inputs.member)).filter((m) => m !== undefined);
    assert.ok(!members.includes("allUsers") && !members.includes("allAuthenticatedUsers"));
  });

  it("hands the allow-list to the bridge, which is what keeps this production stack closed", () => {
    const template = (plain(single(run, "gcp:cloudrunv2/service:Service").inputs) as Record<string, unknown>)
      .template as { containers: { envs: { name: string; value?: string }[] }[] };
    const env = template.containers[0]?.envs ?? [];
    assert.equal(env.find((e) => e.name === "EXOTEL_ALLOWED_CIDRS")?.value, "203.0.113.0/24");
  });
});

describe("production defaults without monitoring", () => {
  it("turns the console off (no console credential of its own) and exports no console URL", () => {
    const template = (plain(single(run, "gcp:cloudrunv2/service:Service").inputs) as Record<string, unknown>)
      .template as { containers: { envs: { name: string; value?: string }[] }[] };
    const env = template.containers[0]?.envs ?? [];
    assert.equal(env.find((e) => e.name === "CONSOLE_ENABLED")?.value, "false");
    assert.equal(run.outputs.consoleUrl, undefined);
  });

  it("needs only the base deployer roles for the BigQuery link and the APIs", () => {
    assert.equal(ofType(run, "gcp:monitoring/dashboard:Dashboard").length, 0);
    assert.equal(ofType(run, "gcp:logging/linkedDataset:LinkedDataset").length, 1);
    assert.ok(
      ofType(run, "gcp:projects/service:Service").some(
        (r) => plain(r.inputs.service) === "bigquery.googleapis.com",
      ),
    );
    assertDeployerCanCreate(run);
  });
});
