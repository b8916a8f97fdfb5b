/**
 * Leak check, run as its own process with --expose-gc (test/e2e/leaks.test.ts spawns it):
 * thousands of calls, successful and failing, concurrent and in sequence, through real bridges
 * and local test agents; afterwards active handles, timers, sockets, resamplers, ticker members
 * and heap must return to the baseline taken after a warm-up. Prints one JSON line.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { WebSocket } from "ws";
import { liveResamplers } from "../../app/src/audio/resampler.js";
import { ExotelSocket } from "../../scripts/lib/exotel-caller.js";
import type { AgentFailure } from "../../scripts/lib/local-agent.js";
import { type Rig, startRig } from "../support/bridge.js";

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error("run with --expose-gc");

const TOTAL = Number(process.env.LEAK_CALLS ?? 2000);
const CONCURRENCY = 50;

type Kind = "ok" | "resample" | "bad_key" | "agent_drop" | "caller_drop" | "hostile";

async function oneCall(rigs: Record<string, Rig>, kind: Kind): Promise<void> {
  const rig =
    kind === "resample"
      ? rigs.resample
      : kind === "bad_key"
        ? rigs.badKey
        : kind === "agent_drop"
          ? rigs.drop
          : rigs.ok;
  if (rig === undefined) throw new Error("no rig");
  if (kind === "hostile") {
    const ws = new WebSocket(rig.bridge.url);
    await new Promise<void>((resolve) => {
      ws.once("open", () => {
        ws.send("{not json");
        ws.send(Buffer.from([1, 2, 3]), { binary: true });
        ws.send('{"event":"media","media":{"payload":"@@"}}');
        ws.terminate();
        resolve();
      });
      ws.once("error", () => resolve());
    });
    return;
  }
  const sock = await ExotelSocket.connect({ url: rig.bridge.url, sampleRate: 8000 });
  sock.sendConnected();
  sock.sendStart();
  const frame = Buffer.alloc(1600, 3);
  for (let i = 0; i < 3 && sock.isOpen; i++) {
    sock.sendMedia(frame);
    await sleep(20);
  }
  if (kind === "caller_drop") {
    sock.ws.terminate();
  } else if (sock.isOpen && kind !== "bad_key" && kind !== "agent_drop") {
    sock.sendStop();
    sock.close();
  }
  await Promise.race([sock.closed, sleep(5000)]);
}

function kindFor(i: number): Kind {
  const r = i % 20;
  if (r < 8) return "ok";
  if (r < 12) return "resample";
  if (r < 14) return "bad_key";
  if (r < 16) return "agent_drop";
  if (r < 18) return "caller_drop";
  return "hostile";
}

async function run(rigs: Record<string, Rig>, from: number, count: number): Promise<void> {
  let next = from;
  const end = from + count;
  const workers = Array.from({ length: CONCURRENCY }, async () => {
    while (next < end) {
      const i = next++;
      await oneCall(rigs, kindFor(i));
      if (i % 200 === 0) forgetStandIns(rigs);
    }
  });
  await Promise.all(workers);
}

/** The stand-ins keep every conversation for test assertions; drop that so only the bridge is measured. */
function forgetStandIns(rigs: Record<string, Rig>): void {
  for (const r of Object.values(rigs)) {
    r.agent.forgetConversations();
  }
}

async function settle(rigs: Record<string, Rig>): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Object.values(rigs).some((r) => r.bridge.bridge.calls.size > 0) && Date.now() < deadline)
    await sleep(50);
  forgetStandIns(rigs);
  await sleep(1500); // force-close timers (1 s) and agent-side closes
  for (let i = 0; i < 4; i++) {
    gc?.();
    await sleep(50);
  }
}

function snapshot(rigs: Record<string, Rig>) {
  const resources = process.getActiveResourcesInfo();
  const count = (t: string) => resources.filter((r) => r === t).length;
  return {
    heapUsedMb: process.memoryUsage().heapUsed / 1048576,
    handles: resources.length,
    timers: count("Timeout"),
    tcp: count("TCPSocketWrap") + count("TCPServerWrap"),
    resamplers: liveResamplers(),
    activeCalls: Object.values(rigs).reduce((n, r) => n + r.bridge.bridge.calls.size, 0),
  };
}

async function main(): Promise<void> {
  const failures: Record<string, AgentFailure | undefined> = {
    ok: undefined,
    resample: undefined,
    badKey: { kind: "bad_key" },
    drop: { kind: "drop", afterMs: 30 },
  };
  const rigs: Record<string, Rig> = {};
  for (const [name, failure] of Object.entries(failures)) {
    const fmt = name === "resample" ? "pcm_16000" : "pcm_8000";
    rigs[name] = await startRig(
      { outputFormat: fmt, inputFormat: fmt, pingIntervalMs: 0, ...(failure && { failure }) },
      { START_TIMEOUT_MS: "2000" },
      { level: "silent" },
    );
  }
  const started = Date.now();
  await run(rigs, 0, 100); // warm-up: lazy modules, JIT, pools
  await settle(rigs);
  const before = snapshot(rigs);
  // Concurrent...
  await run(rigs, 100, TOTAL - 200);
  // ...and in sequence.
  for (let i = TOTAL - 100; i < TOTAL; i++) await oneCall(rigs, kindFor(i));
  await settle(rigs);
  const after = snapshot(rigs);
  let ended = 0;
  for (const r of Object.values(rigs)) {
    for (const v of (await r.bridge.bridge.metrics.callsEnded.get()).values) ended += v.value;
  }
  for (const r of Object.values(rigs)) await r.close();
  process.stdout.write(
    `${JSON.stringify({ calls: TOTAL, seconds: (Date.now() - started) / 1000, before, after, ended })}\n`,
  );
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack}\n`);
  process.exit(1);
});
