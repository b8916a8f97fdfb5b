// The real program under Pulumi mocks with only the required keys: optional features must vanish
// cleanly (no Basic-auth secret, no sample-rate in the URL) and defaults must reach the service.
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { ofType, PROJECT_ID, type ProgramRun, plain, runProgram, single } from "./support/harness";

let run: ProgramRun;
let template: Record<string, unknown>;
let container: Record<string, unknown>;

before(async () => {
  run = await runProgram(
    {
      "gcp:project": PROJECT_ID,
      "exotel-bridge:elevenlabsApiKey": "sk_minimal_1234",
      "exotel-bridge:elevenlabsAgentId": "agent_minimal_5678",
    },
    ["exotel-bridge:elevenlabsApiKey"],
  );
  template = (plain(single(run, "gcp:cloudrunv2/service:Service").inputs) as Record<string, unknown>)
    .template as Record<string, unknown>;
  container = (template.containers as Record<string, unknown>[])[0] as Record<string, unknown>;
});

describe("program with required config only", () => {
  it("deploys to asia-south1 (nearest Exotel's Mumbai media) by default", () => {
    assert.equal(
      (plain(single(run, "gcp:cloudrunv2/service:Service").inputs) as { location: string }).location,
      "asia-south1",
    );
  });

  it("gives the stream URL no sample-rate", () => {
    assert.equal(run.outputs.exotelStreamUrl?.value, "wss://exotel-bridge-dev-x7k2q9abcd-el.a.run.app/media");
  });

  it("creates no Exotel credential: two secrets, two accessor grants, no EXOTEL_BASIC_AUTH", () => {
    assert.equal(ofType(run, "gcp:secretmanager/secret:Secret").length, 2);
    assert.equal(ofType(run, "gcp:secretmanager/secretIamMember:SecretIamMember").length, 2);
    const names = (container.envs as { name: string }[]).map((e) => e.name).sort();
    assert.deepEqual(names, [
      "CONSOLE_ENABLED",
      "DRAIN_TIMEOUT_MS",
      "ELEVENLABS_AGENT_ID",
      "ELEVENLABS_API_KEY",
      "ELEVENLABS_REGION",
      "LOG_CALLER_NUMBERS",
      "LOG_FORMAT",
      "LOG_LEVEL",
      "LOG_TRANSCRIPTS",
      "MAX_CONCURRENT_CALLS",
    ]);
  });

  it("states the bridge's privacy defaults and JSON logs, and exports no console without a credential", () => {
    const env = (name: string) =>
      (container.envs as { name: string; value?: string }[]).find((e) => e.name === name)?.value;
    assert.equal(env("LOG_CALLER_NUMBERS"), "masked");
    assert.equal(env("LOG_TRANSCRIPTS"), "off");
    assert.equal(env("LOG_FORMAT"), "json", "the sink and the log-based metrics read jsonPayload");
    // A dev stack leaves the console on, but with no credential at all the bridge serves no console.
    assert.equal(env("CONSOLE_ENABLED"), "true");
    assert.equal(run.outputs.consoleUrl, undefined);
    assert.equal(env("ADMIN_TOKEN"), undefined);
  });

  it("sizes the service with the defaults: 80 calls, and 20 more requests for checks and callbacks", () => {
    assert.equal(template.maxInstanceRequestConcurrency, 100);
    assert.deepEqual(template.scaling, { minInstanceCount: 1, maxInstanceCount: 10 });
    assert.deepEqual((container.resources as { limits: unknown }).limits, { cpu: "1", memory: "512Mi" });
    const env = (name: string) =>
      (container.envs as { name: string; value?: string }[]).find((e) => e.name === name);
    assert.equal(env("MAX_CONCURRENT_CALLS")?.value, "80");
    assert.equal(env("DRAIN_TIMEOUT_MS")?.value, "8000");
  });

  it("leaves deletion protection off so a dev stack can be destroyed", () => {
    const service = plain(single(run, "gcp:cloudrunv2/service:Service").inputs) as Record<string, unknown>;
    assert.equal(service.deletionProtection, false);
    for (const s of ofType(run, "gcp:secretmanager/secret:Secret")) {
      assert.equal((plain(s.inputs) as Record<string, unknown>).deletionProtection, false);
    }
  });

  it("keeps call summaries for 90 days", () => {
    const bucket = plain(single(run, "gcp:logging/projectBucketConfig:ProjectBucketConfig").inputs) as Record<
      string,
      unknown
    >;
    assert.equal(bucket.retentionDays, 90);
  });

  it("makes the service public through an allUsers invoker binding by default", () => {
    const service = plain(single(run, "gcp:cloudrunv2/service:Service").inputs) as Record<string, unknown>;
    assert.equal(service.invokerIamDisabled, false);
    const invoker = plain(single(run, "gcp:cloudrunv2/serviceIamMember:ServiceIamMember").inputs) as Record<
      string,
      unknown
    >;
    assert.equal(invoker.member, "allUsers");
  });
});
