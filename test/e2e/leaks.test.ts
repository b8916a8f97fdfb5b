/**
 * No leaks: thousands of calls (successful, failing on the agent side, dropped by the caller,
 * hostile) through real bridges, concurrent and in sequence; afterwards handles, timers, sockets,
 * resamplers and heap are back at the baseline taken after a warm-up. Runs test/leaks/leak-check.ts
 * in its own process with --expose-gc, so garbage collection can be forced and nothing else in the
 * test run adds noise.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { it } from "node:test";
import { promisify } from "node:util";

const run = promisify(execFile);

it("2,000 mixed calls leave no handles, timers, sockets, resamplers or heap behind", async () => {
  const { stdout } = await run(
    process.execPath,
    ["--expose-gc", "--import", "tsx", "test/leaks/leak-check.ts"],
    {
      env: { ...process.env, LEAK_CALLS: "2000" },
      timeout: 120_000,
      maxBuffer: 1 << 20,
    },
  );
  const r = JSON.parse(stdout.trim().split("\n").at(-1) as string) as {
    calls: number;
    ended: number;
    before: Record<string, number>;
    after: Record<string, number>;
  };
  assert.equal(r.ended, r.calls, "every call ended and was counted");
  const { before, after } = r as { before: Record<string, number>; after: Record<string, number> };
  assert.equal(after.activeCalls, 0);
  assert.equal(after.resamplers, before.resamplers, "every WASM resampler was freed");
  assert.ok(
    (after.handles as number) <= (before.handles as number) + 5,
    `handles ${before.handles} -> ${after.handles}`,
  );
  assert.ok(
    (after.timers as number) <= (before.timers as number) + 5,
    `timers ${before.timers} -> ${after.timers}`,
  );
  assert.ok((after.tcp as number) <= (before.tcp as number) + 2, `sockets ${before.tcp} -> ${after.tcp}`);
  const growth = (after.heapUsedMb as number) - (before.heapUsedMb as number);
  assert.ok(growth < 8, `heap grew ${growth.toFixed(1)} MB over ${r.calls} calls`);
});
