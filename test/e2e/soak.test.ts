/**
 * One minute of `npm run soak` in CI (the README carries a 10-minute result): a steady population
 * of calls churning through the bridge process, with caller drops and junk connections mixed in,
 * must end with no unexpected failure, no frame-rule violation and no process-level error.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { it } from "node:test";
import { promisify } from "node:util";

const run = promisify(execFile);

it("npm run soak -- --minutes 1 passes", async () => {
  const { stdout } = await run(
    process.execPath,
    ["--import", "tsx", "scripts/soak.ts", "--minutes", "1", "--calls", "10", "--out", "out/soak-ci"],
    { timeout: 150_000, maxBuffer: 1 << 20 },
  );
  assert.match(stdout, /Soak OK/);
  const file = /report:\s+(\S+)/.exec(stdout)?.[1];
  assert.ok(file, stdout);
  const report = JSON.parse(readFileSync(file, "utf8")) as {
    calls: number;
    unexpectedFailures: number;
    frameViolations: number;
    byKind: Record<string, number>;
    samples: unknown[];
  };
  assert.ok(report.calls >= 30, `only ${report.calls} calls in a minute`);
  assert.equal(report.unexpectedFailures, 0);
  assert.equal(report.frameViolations, 0);
  assert.ok(
    (report.byKind.caller_drop ?? 0) > 0 && (report.byKind.junk ?? 0) > 0,
    "bad endings were mixed in",
  );
  assert.ok(report.samples.length >= 5);
});
