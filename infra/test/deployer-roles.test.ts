// The deployer's roles follow the stack's features, read from the committed stack files the same
// way the bootstrap reads them (infra/deployer-roles.ts, run here as a user would).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { describe, it } from "node:test";
import { deployerRoles, featuresFromStackConfig, roleForType } from "../lib/deployer-roles";

const ROOT = path.resolve(__dirname, "..", "..");

function cli(...args: string[]) {
  return spawnSync(
    process.execPath,
    ["--import", "tsx", path.join(ROOT, "infra", "deployer-roles.ts"), ...args],
    {
      cwd: ROOT,
      encoding: "utf8",
      timeout: 60_000,
    },
  );
}

describe("deployer roles", () => {
  it("reads the features from stack config, with the program's defaults", () => {
    assert.deepEqual(featuresFromStackConfig({}), {
      stateStore: "memory",
      recordings: false,
      monitoring: true,
    });
    assert.deepEqual(
      featuresFromStackConfig({
        "exotel-bridge:stateStore": "redis",
        "exotel-bridge:recordings": "true",
        "exotel-bridge:monitoring": false,
      }),
      { stateStore: "redis", recordings: true, monitoring: false },
    );
  });

  it("adds exactly the roles each feature needs", () => {
    const roles = (f: Parameters<typeof deployerRoles>[0]) => deployerRoles(f).map((n) => n.role);
    const base = roles({ stateStore: "memory", recordings: false, monitoring: false });
    assert.equal(new Set(base).size, base.length, "no duplicates");
    assert.ok(!base.some((r) => /redis|compute|storage|monitoring/.test(r)));
    const redis = roles({ stateStore: "redis", recordings: false, monitoring: false });
    assert.deepEqual(redis.slice(base.length), ["roles/redis.admin", "roles/compute.networkAdmin"]);
    const rec = roles({ stateStore: "memory", recordings: true, monitoring: false });
    assert.deepEqual(rec.slice(base.length), ["roles/storage.admin"]);
    const mon = roles({ stateStore: "memory", recordings: false, monitoring: true });
    assert.deepEqual(mon.slice(base.length), [
      "roles/monitoring.alertPolicyEditor",
      "roles/monitoring.dashboardEditor",
      "roles/monitoring.notificationChannelEditor",
    ]);
    for (const r of [...base, ...redis, ...rec, ...mon]) assert.match(r, /^roles\/[a-z]+\.[A-Za-z]+$/);
  });

  it("maps the monitoring resources to the roles that create them", () => {
    assert.equal(roleForType("gcp:logging/metric:Metric"), "roles/logging.configWriter");
    assert.equal(roleForType("gcp:logging/linkedDataset:LinkedDataset"), "roles/logging.configWriter");
    assert.equal(roleForType("gcp:monitoring/alertPolicy:AlertPolicy"), "roles/monitoring.alertPolicyEditor");
    assert.equal(roleForType("gcp:monitoring/dashboard:Dashboard"), "roles/monitoring.dashboardEditor");
    assert.equal(roleForType("gcp:unknown/thing:Thing"), undefined);
  });

  it("prints what the committed prod stack needs, including Memorystore's network", () => {
    const r = cli("prod");
    assert.equal(r.status, 0, r.stderr);
    const roles = r.stdout.trim().split("\n");
    assert.ok(roles.includes("roles/redis.admin") && roles.includes("roles/compute.networkAdmin"));
    assert.ok(roles.includes("roles/monitoring.alertPolicyEditor"), "monitoring is on by default");
    assert.ok(!roles.includes("roles/storage.admin"), "prod records no calls");
    const dev = cli("dev");
    assert.equal(dev.status, 0, dev.stderr);
    assert.ok(!dev.stdout.includes("roles/redis.admin"));
    const explained = cli("prod", "--explain");
    assert.match(explained.stdout, /^roles\/redis\.admin +the Memorystore instance/m);
    assert.equal(cli("nosuchstack").status, 1);
    assert.equal(cli().status, 2);
  });
});
