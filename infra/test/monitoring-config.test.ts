// Stack configuration of the operator features: defaults, switches and validation.
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { ConfigError, loadConfig } from "../config";

const REQUIRED = {
  "gcp:project": "my-project-123",
  "exotel-bridge:elevenlabsApiKey": "sk_config_test",
  "exotel-bridge:elevenlabsAgentId": "agent_config_test",
};

function load(extra: Record<string, string>) {
  pulumi.runtime.setAllConfig({ ...REQUIRED, ...extra }, [
    "exotel-bridge:elevenlabsApiKey",
    "exotel-bridge:elevenlabsWebhookSecret",
  ]);
  return loadConfig();
}

function problems(extra: Record<string, string>): string[] {
  try {
    load(extra);
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.problems;
  }
  assert.fail("expected a ConfigError");
}

before(async () => {
  await pulumi.runtime.setMocks(
    { newResource: (a) => ({ id: a.name, state: a.inputs }), call: () => ({}) },
    "exotel-bridge",
    "dev",
    false,
  );
});

describe("monitoring configuration", () => {
  it("is on by default, emails nobody, and has no webhook secret", () => {
    const cfg = load({});
    assert.ok(cfg.monitoring);
    assert.equal(cfg.monitoring.alertEmail, undefined);
    assert.equal(cfg.secrets.elevenlabsWebhookSecret, undefined);
  });

  it("turns off with monitoring: false; the linked dataset goes with logAnalytics or an empty id", () => {
    assert.equal(load({ "exotel-bridge:monitoring": "false" }).monitoring, undefined);
    assert.equal(load({ "exotel-bridge:logAnalytics": "false" }).logs.linkedDatasetId, undefined);
    assert.equal(load({ "exotel-bridge:logLinkedDataset": "" }).logs.linkedDatasetId, undefined);
    assert.equal(load({ "exotel-bridge:logLinkedDataset": "calls_ds" }).logs.linkedDatasetId, "calls_ds");
    assert.equal(load({ "exotel-bridge:logExcludeFromDefault": "false" }).logs.excludeFromDefault, false);
  });

  it("reads the webhook secret as a secret", async () => {
    const cfg = load({ "exotel-bridge:elevenlabsWebhookSecret": "wsec_abc" });
    const secret = cfg.secrets.elevenlabsWebhookSecret;
    assert.ok(secret && (await pulumi.isSecret(secret)));
  });

  it("reports every bad key at once, without echoing the secret", () => {
    const found = problems({
      "exotel-bridge:alertEmail": "not an address",
      "exotel-bridge:alertConnectFailurePercent": "0",
      "exotel-bridge:alertCpuPercent": "101",
      "exotel-bridge:alertMemoryPercent": "lots",
      "exotel-bridge:alertErrorEndings": "0",
      "exotel-bridge:logLinkedDataset": "calls-dataset",
      "exotel-bridge:elevenlabsWebhookSecret": "wsec with space",
    }).join("\n");
    for (const key of [
      "alertEmail",
      "alertConnectFailurePercent",
      "alertCpuPercent",
      "alertMemoryPercent",
      "alertErrorEndings",
      "logLinkedDataset",
      "elevenlabsWebhookSecret",
    ]) {
      assert.match(found, new RegExp(`exotel-bridge:${key}`), key);
    }
    assert.ok(!found.includes("wsec with space"));
  });
});
