// infra/config.ts: defaults, validation (every problem reported at once) and freezing.
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { ConfigError, loadConfig } from "../config";
import { serviceLogFilter } from "../lib/log-filter";
import { exotelStreamUrl } from "../lib/stream-url";

const REQUIRED = {
  "gcp:project": "my-project-123",
  "exotel-bridge:elevenlabsApiKey": "sk_config_test",
  "exotel-bridge:elevenlabsAgentId": "agent_config_test",
};

function load(extra: Record<string, string>, drop: string[] = []) {
  const config: Record<string, string> = { ...REQUIRED, ...extra };
  for (const key of drop) delete config[key];
  pulumi.runtime.setAllConfig(config, ["exotel-bridge:elevenlabsApiKey"]);
  return loadConfig();
}

function problems(extra: Record<string, string>, drop: string[] = []): string[] {
  try {
    load(extra, drop);
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

describe("loadConfig defaults", () => {
  it("fills every optional key with its documented default", () => {
    const cfg = load({});
    assert.equal(cfg.project, "my-project-123");
    assert.equal(cfg.region, "asia-south1");
    assert.equal(cfg.serviceName, "exotel-bridge-dev");
    assert.equal(cfg.elevenlabsRegion, "default");
    assert.equal(cfg.concurrency, 80);
    assert.equal(cfg.minInstances, 1);
    assert.equal(cfg.maxInstances, 10);
    assert.equal(cfg.cpu, "1");
    assert.equal(cfg.memory, "512Mi");
    assert.equal(cfg.drainTimeoutMs, 8000);
    assert.equal(cfg.deletionProtection, false);
    assert.equal(cfg.logLevel, "info");
    assert.equal(cfg.sampleRate, undefined);
    assert.equal(cfg.allowedAgentIds, undefined);
    assert.equal(cfg.secrets.exotelBasicAuth, undefined);
    assert.deepEqual(cfg.logs, {
      routing: "summaries",
      retentionDays: 90,
      analytics: true,
      linkedDatasetId: "exotel_bridge_dev_calls",
      excludeFromDefault: true,
    });
    assert.deepEqual(cfg.monitoring, {
      thresholds: { connectFailurePercent: 20, errorEndings: 5, cpuPercent: 80, memoryPercent: 85 },
    });
    assert.equal(cfg.image.tag, "latest");
    assert.ok(cfg.image.contextDir.endsWith("/app"));
  });

  it("returns frozen config with the credentials as secret outputs", async () => {
    const cfg = load({ "exotel-bridge:exotelBasicAuth": "k:t" });
    assert.ok(Object.isFrozen(cfg) && Object.isFrozen(cfg.image) && Object.isFrozen(cfg.logs));
    for (const value of [
      cfg.secrets.elevenlabsApiKey,
      cfg.secrets.elevenlabsAgentId,
      cfg.secrets.exotelBasicAuth,
    ]) {
      assert.ok(value && (await pulumi.isSecret(value)));
    }
  });

  it("uses an explicit serviceName for resource names", () => {
    assert.equal(load({ "exotel-bridge:serviceName": "voice-bridge" }).serviceName, "voice-bridge");
  });
});

describe("loadConfig validation", () => {
  it("requires the project, the agent id and the API key, and says how to set each", () => {
    const found = problems({}, Object.keys(REQUIRED));
    assert.equal(found.length, 3);
    assert.match(found.join("\n"), /gcp:project is required/);
    assert.match(found.join("\n"), /elevenlabsAgentId is required/);
    assert.match(found.join("\n"), /pulumi config set --secret elevenlabsApiKey/);
  });

  it("refuses the placeholders of the committed stack files", () => {
    const found = problems({
      "gcp:project": "your-gcp-project-id",
      "exotel-bridge:elevenlabsAgentId": "your-elevenlabs-agent-id",
    });
    assert.equal(found.length, 2);
    assert.ok(found.every((p) => p.includes("placeholder")));
  });

  it("reports every bad value at once, naming each key", () => {
    const found = problems({
      "exotel-bridge:elevenlabsRegion": "mars",
      "exotel-bridge:sampleRate": "44100",
      "exotel-bridge:concurrency": "0",
      "exotel-bridge:minInstances": "5",
      "exotel-bridge:maxInstances": "2",
      "exotel-bridge:cpu": "0.5",
      "exotel-bridge:memory": "lots",
      "exotel-bridge:drainTimeoutMs": "9500",
      "exotel-bridge:logLevel": "loud",
      "exotel-bridge:logRouting": "some",
      "exotel-bridge:logRetentionDays": "ten",
      "exotel-bridge:imageTag": "bad tag",
      "exotel-bridge:exotelAllowedCidrs": "203.0.113.0/24, 10.0.0.0/33,nonsense",
    });
    for (const key of [
      "elevenlabsRegion",
      "sampleRate",
      "concurrency",
      "maxInstances must be at least minInstances",
      "cpu",
      "memory",
      "drainTimeoutMs",
      "logLevel",
      "logRouting",
      "logRetentionDays",
      "imageTag",
      "exotelAllowedCidrs has invalid ranges: 10.0.0.0/33 nonsense",
    ]) {
      assert.ok(
        found.some((p) => p.includes(key)),
        `${key} reported in:\n${found.join("\n")}`,
      );
    }
    assert.equal(found.length, 12);
  });

  it("checks the credentials' shape without ever printing them", () => {
    const found = problems({
      "exotel-bridge:elevenlabsApiKey": "sk with space",
      "exotel-bridge:exotelBasicAuth": "tokenwithoutkey",
    });
    assert.equal(found.length, 2);
    assert.match(found.join("\n"), /elevenlabsApiKey must not contain whitespace/);
    assert.match(found.join("\n"), /exotelBasicAuth must look like "key:token"/);
    assert.ok(!found.join("\n").includes("sk with space") && !found.join("\n").includes("tokenwithoutkey"));
  });

  it("keeps the drain inside Cloud Run's 10 s SIGTERM grace", () => {
    assert.equal(load({ "exotel-bridge:drainTimeoutMs": "9000" }).drainTimeoutMs, 9000);
    assert.equal(problems({ "exotel-bridge:drainTimeoutMs": "9001" }).length, 1);
  });

  it("refuses a service name whose runtime service account id would not fit", () => {
    const found = problems({ "exotel-bridge:serviceName": "exotel-bridge-production-eu" });
    assert.equal(found.length, 1);
    assert.match(found[0] as string, /serviceName/);
  });
});

describe("production stacks and public access", () => {
  const OPEN = /a production stack must not run open: set exotel-bridge:exotelBasicAuth/;

  it("refuses a production stack with neither Exotel Basic auth nor an allow-list", () => {
    assert.ok(problems({ "exotel-bridge:production": "true" }).some((p) => OPEN.test(p)));
    assert.ok(
      problems({ "exotel-bridge:production": "true", "exotel-bridge:exotelAllowedCidrs": " " }).some((p) =>
        OPEN.test(p),
      ),
      "a blank allow-list is no allow-list",
    );
  });

  it("accepts a production stack closed by Basic auth, by an allow-list, or by both", () => {
    const auth = { "exotel-bridge:exotelBasicAuth": "key:token" };
    const cidrs = { "exotel-bridge:exotelAllowedCidrs": "203.0.113.0/24" };
    for (const closed of [auth, cidrs, { ...auth, ...cidrs }]) {
      const config: Record<string, string> = { ...REQUIRED, ...closed, "exotel-bridge:production": "true" };
      pulumi.runtime.setAllConfig(config, [
        "exotel-bridge:elevenlabsApiKey",
        "exotel-bridge:exotelBasicAuth",
      ]);
      assert.equal(loadConfig().production, true);
    }
  });

  it("treats a non-production stack as allowed to run open, and keeps the allUsers binding by default", () => {
    const cfg = load({});
    assert.equal(cfg.production, false, "this test's stack is dev");
    assert.equal(cfg.invokerIamDisabled, false);
    assert.equal(load({ "exotel-bridge:invokerIamDisabled": "true" }).invokerIamDisabled, true);
  });
});

describe("per-instance request limit", () => {
  it("gives Cloud Run a quarter more requests than calls, at least 10", () => {
    assert.equal(load({}).requestConcurrency, 100);
    assert.equal(load({ "exotel-bridge:concurrency": "8" }).requestConcurrency, 18);
    assert.equal(
      load({ "exotel-bridge:concurrency": "40", "exotel-bridge:requestHeadroom": "5" }).requestConcurrency,
      45,
    );
  });

  it("keeps calls plus headroom within Cloud Run's 1000", () => {
    assert.ok(
      problems({ "exotel-bridge:concurrency": "900" }).some((p) => /must not exceed 1000/.test(p)),
      "900 + 225 is over the limit",
    );
    assert.ok(problems({ "exotel-bridge:requestHeadroom": "0" }).some((p) => /requestHeadroom/.test(p)));
  });
});

describe("exotelStreamUrl", () => {
  it("turns the Cloud Run URI into the wss /media URL, with sample-rate when given", () => {
    assert.equal(exotelStreamUrl("https://a-b-el.a.run.app"), "wss://a-b-el.a.run.app/media");
    assert.equal(exotelStreamUrl("https://a-b-el.a.run.app/"), "wss://a-b-el.a.run.app/media");
    assert.equal(exotelStreamUrl("https://x.run.app", 8000), "wss://x.run.app/media?sample-rate=8000");
    assert.throws(() => exotelStreamUrl("http://x.run.app"), /https/);
  });
});

describe("log filters", () => {
  it("selects call summaries of one service, or all of its lines", () => {
    const service = 'resource.type="cloud_run_revision" AND resource.labels.service_name="svc"';
    assert.equal(
      serviceLogFilter("svc", "summaries"),
      `${service} AND jsonPayload.event=("call_summary" OR "call_analysis")`,
    );
    assert.equal(serviceLogFilter("svc", "all"), service);
    assert.throws(() => serviceLogFilter('svc" OR "', "all"));
  });
});
