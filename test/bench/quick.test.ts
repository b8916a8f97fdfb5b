/**
 * `npm run bench -- --quick` as a behaviour check (not timing): 20 calls for a few seconds on both
 * paths, bridge and baseline, through real sockets and separate processes. Every caller frame must
 * reach the agent in order, the bridge must break no Exotel frame rule, agent audio must reach the
 * callers, pings must be answered, and the JSON report must carry the fields the README and later
 * tooling read. The bridge runs from app/src (tsx), so no build is needed and what is tested is
 * the working tree.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, it } from "node:test";
import { promisify } from "node:util";

const ROOT = path.resolve(import.meta.dirname, "../..");

describe("npm run bench -- --quick", () => {
  it("relays every caller frame in order, frames agent audio by Exotel's rules, reports all fields", async () => {
    const out = mkdtempSync(path.join(tmpdir(), "bench-quick-"));
    try {
      const { stdout } = await promisify(execFile)(
        process.execPath,
        ["--import", "tsx", "scripts/bench/index.ts", "--quick", "--bridge", "src", "--out", out],
        { cwd: ROOT, timeout: 90_000, maxBuffer: 4 * 1024 * 1024 },
      );
      assert.match(stdout, /passthrough .*20 calls/);
      assert.match(stdout, /resampling .*20 calls/);

      const file = readdirSync(out).find((f) => f.endsWith(".json"));
      assert.ok(file, "a JSON report is written");
      const report = JSON.parse(readFileSync(path.join(out, file), "utf8"));
      assert.equal(report.options.calls, 20);
      assert.ok(report.machine.nproc >= 1 && typeof report.machine.cpuModel === "string");
      assert.equal(report.runs.length, 4, "one baseline and one bridge run per path");

      for (const pathName of ["passthrough", "resample"]) {
        const s = report.summary[pathName];
        assert.ok(s, `summary for ${pathName}`);
        for (const key of ["cpu", "rss", "cpuPaired", "rssPaired", "cpuMainThread"]) {
          assert.ok(Number.isFinite(s.ratios[key]) && s.ratios[key] > 0, `${pathName} ratio ${key}`);
        }
        for (const relay of ["baseline", "bridge"]) {
          const r = s[relay];
          for (const key of [
            "cpuMsPerCallS",
            "rssPerCallKiB",
            "latencyP50Ms",
            "latencyP99Ms",
            "latencyMaxMs",
            "loadCpuMsPerCallS",
          ]) {
            assert.ok(Number.isFinite(r[key]), `${pathName} ${relay} ${key}`);
          }
          // The JavaScript thread's share is part of the process's CPU, never more; both are
          // floating-point sums rounded on their own, so "more" by a rounding step is still equal.
          assert.ok(
            r.mainThreadCpuMsPerCallS > 0 && r.mainThreadCpuMsPerCallS <= r.cpuMsPerCallS + 0.002,
            `${pathName} ${relay}: main-thread CPU ${r.mainThreadCpuMsPerCallS} of ${r.cpuMsPerCallS}`,
          );
          assert.equal(r.framesLost, 0, `${pathName} ${relay}: caller frames lost`);
          assert.equal(r.orderMismatches, 0, `${pathName} ${relay}: caller frames out of order`);
          assert.equal(r.callsNotOk, 0, `${pathName} ${relay}: calls that did not complete`);
          assert.equal(r.missedPongs, 0, `${pathName} ${relay}: pings not answered`);
          assert.ok(r.minDelivery >= 0.99, `${pathName} ${relay}: agent audio delivered ${r.minDelivery}`);
        }
        assert.equal(s.bridge.violations, 0, `${pathName}: Exotel frame-rule violations`);
        assert.ok(
          s.bridge.maxLeadMs <= 500,
          `${pathName}: agent audio paced (lead ${s.bridge.maxLeadMs} ms)`,
        );
        assert.equal(s.bridge.logWarnings, 0, `${pathName}: bridge logged warnings or errors`);
      }
      for (const run of report.runs) {
        const r = run.result;
        assert.ok(r.window.seconds > 0.5, "a measured window");
        assert.ok(r.latency.count > 0, "latencies measured");
        assert.ok(r.up.orderChecks > 0, "order checked");
        assert.ok(r.down.agentSentMs > 0 && r.down.receivedMs > 0, "agent audio flowed");
        assert.deepEqual(r.errors, [], `${run.relay} ${run.path}: load generator errors`);
      }
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
