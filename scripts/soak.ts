/**
 * `npm run soak -- --minutes N`: keeps a steady population of calls churning through the real
 * bridge for N minutes and reports its memory, CPU and failures over time. Catches what a short
 * test cannot: slow leaks, timer build-up, a process that degrades after thousands of calls.
 *
 * Setup: the LOCAL TEST AGENT in script mode (pcm_16000, so every call also exercises the
 * resampler) and the bridge as a child process (`node --import tsx app/src/main.ts`, as
 * `npm start` runs it), measured from /proc. The population (`--calls`, default 30) is kept full:
 * each call lasts 6-20 s (the caller asks a question and hangs up, or talks over the agent), and a
 * share of them end badly on purpose: the caller's socket drops mid-call, or the connection is a
 * scanner sending junk. Every 10 s a line shows elapsed time, active calls, calls done, unexpected
 * failures, frame-rule violations, RSS and CPU. At the end: a table, a JSON report
 * (`out/soak/<time>.json`), and exit 1 when a call that should have worked did not, a frame broke
 * Exotel's rules, or memory kept growing through the second half of the run.
 *
 * Options: --minutes N (10), --calls N (30), --out DIR (out/soak), --sample-s N (10).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { dirname, join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { WebSocket } from "ws";
import { startCall } from "./lib/exotel-caller.js";
import { type LocalAgent, startLocalAgent } from "./lib/local-agent.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const QUESTION = join(ROOT, "fixtures/caller-order-status-8k.wav");
const BARGE_IN = join(ROOT, "fixtures/caller-barge-in-8k.wav");
const API_KEY = "soak-local-key";
const CLK_TCK = 100;

const say = (line: string) => process.stdout.write(`${line}\n`);

interface Options {
  readonly minutes: number;
  readonly calls: number;
  readonly out: string;
  readonly sampleS: number;
}

function options(): Options {
  const { values } = parseArgs({
    options: {
      minutes: { type: "string", default: "10" },
      calls: { type: "string", default: "30" },
      out: { type: "string", default: "out/soak" },
      "sample-s": { type: "string", default: "10" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    say("Usage: npm run soak -- [--minutes 10] [--calls 30] [--out out/soak] [--sample-s 10]");
    process.exit(0);
  }
  const minutes = Number(values.minutes);
  const calls = Number(values.calls);
  const sampleS = Number(values["sample-s"]);
  if (!(minutes > 0) || !(calls >= 1) || !(sampleS >= 1)) {
    say("soak: --minutes, --calls and --sample-s must be positive numbers");
    process.exit(2);
  }
  return { minutes, calls: Math.floor(calls), out: values.out as string, sampleS };
}

/** A port nobody is listening on right now. */
async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", () => r()));
  const { port } = srv.address() as AddressInfo;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

/** The bridge child, started like `npm start` (warn-level logs: per-call lines would only cost CPU here). */
async function startBridge(
  agentUrl: string,
): Promise<{ child: ChildProcess; port: number; errors: string[] }> {
  const port = await freePort();
  const child = spawn(process.execPath, ["--import", "tsx", "app/src/main.ts"], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? "",
      ELEVENLABS_AGENT_ID: "local-test-agent",
      ELEVENLABS_API_KEY: API_KEY,
      ELEVENLABS_BASE_URL: agentUrl,
      PORT: String(port),
      BRIDGE_HOST: "127.0.0.1",
      LOG_LEVEL: "warn",
      START_TIMEOUT_MS: "3000",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const errors: string[] = [];
  createInterface({ input: child.stdout as NodeJS.ReadableStream }).on("line", (line) => {
    let json: Record<string, unknown>;
    try {
      json = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return;
    }
    // Only process-level trouble counts; a call's own warnings are expected with junk traffic.
    if (
      json.severity === "CRITICAL" ||
      json.event === "unhandled_rejection" ||
      json.event === "call_internal_error"
    ) {
      errors.push(String(json.message));
    }
  });
  child.stderr?.on("data", (d: Buffer) => errors.push(d.toString().trim()));
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`bridge exited with ${child.exitCode}: ${errors.join(" ")}`);
    try {
      if ((await fetch(`http://127.0.0.1:${port}/readyz`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error("bridge did not start in 30 s");
    await new Promise((r) => setTimeout(r, 200));
  }
  return { child, port, errors };
}

function procStat(pid: number): { cpuMs: number; rssMb: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const cpuMs = ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK;
  const rss = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return { cpuMs, rssMb: Number(rss?.[1] ?? 0) / 1024 };
}

type Kind = "question" | "barge_in" | "caller_drop" | "junk";

function pickKind(n: number): Kind {
  const r = n % 10;
  return r < 5 ? "question" : r < 7 ? "barge_in" : r < 9 ? "caller_drop" : "junk";
}

interface Tally {
  started: number;
  done: number;
  unexpected: number;
  violations: number;
  byKind: Record<Kind, number>;
  failures: string[];
}

async function junk(url: string): Promise<void> {
  const ws = new WebSocket(url);
  await new Promise<void>((done) => {
    ws.once("open", () => {
      ws.send('{"event":"start","start":{"stream_sid":"junk"}}');
      ws.send("{not json");
      ws.send(Buffer.from([0, 1, 2]), { binary: true });
      setTimeout(() => {
        ws.terminate();
        done();
      }, 200);
    });
    ws.once("error", () => done());
  });
}

async function oneCall(url: string, n: number, tally: Tally): Promise<void> {
  const kind = pickKind(n);
  tally.started++;
  tally.byKind[kind]++;
  try {
    if (kind === "junk") {
      await junk(url);
      return;
    }
    const hangup = 6000 + ((n * 7919) % 14_000);
    const audio =
      kind === "barge_in"
        ? [
            { wav: QUESTION, atMs: 3800 },
            { wav: BARGE_IN, atMs: 12_000 },
          ]
        : [{ wav: QUESTION, atMs: 3800 }];
    const call = startCall({ url, sampleRate: 8000, audio, hangupAfterMs: hangup, maxDurationMs: 30_000 });
    if (kind === "caller_drop") {
      // The phone line dies mid-call: the socket goes without `stop` or a close frame.
      setTimeout(() => call.socket?.ws.terminate(), 2000 + (n % 5) * 500);
    }
    const result = await call.result;
    tally.violations += result.report.frames.violations;
    const expectedOk = kind !== "caller_drop";
    if (expectedOk && !result.report.ok) {
      tally.unexpected++;
      if (tally.failures.length < 20) tally.failures.push(`${kind}: ${result.report.failures.join("; ")}`);
    }
  } catch (err) {
    tally.unexpected++;
    if (tally.failures.length < 20) tally.failures.push(`${kind}: ${(err as Error).message}`);
  } finally {
    tally.done++;
  }
}

interface Sample {
  readonly t: number;
  readonly active: number;
  readonly done: number;
  readonly unexpected: number;
  readonly rssMb: number;
  readonly cpuPct: number;
}

function slopeMbPerMin(samples: readonly Sample[]): number {
  if (samples.length < 2) return 0;
  const n = samples.length;
  const mx = samples.reduce((a, s) => a + s.t, 0) / n;
  const my = samples.reduce((a, s) => a + s.rssMb, 0) / n;
  let num = 0;
  let den = 0;
  for (const s of samples) {
    num += (s.t - mx) * (s.rssMb - my);
    den += (s.t - mx) ** 2;
  }
  return den === 0 ? 0 : (num / den) * 60;
}

async function main(): Promise<void> {
  const opt = options();
  let agent: LocalAgent | undefined;
  let bridge: ChildProcess | undefined;
  const stop = () => {
    bridge?.kill("SIGKILL");
    void agent?.close();
  };
  process.once("SIGINT", () => {
    stop();
    process.exit(130);
  });
  try {
    agent = await startLocalAgent({ apiKey: API_KEY, mode: "script", pingIntervalMs: 2000 });
    const b = await startBridge(agent.url);
    bridge = b.child;
    const pid = b.child.pid as number;
    const url = `ws://127.0.0.1:${b.port}/media`;
    say(
      `soak: ${opt.calls} concurrent calls for ${opt.minutes} min against ${url} (bridge pid ${pid}, LOCAL TEST AGENT)`,
    );

    const tally: Tally = {
      started: 0,
      done: 0,
      unexpected: 0,
      violations: 0,
      byKind: { question: 0, barge_in: 0, caller_drop: 0, junk: 0 },
      failures: [],
    };
    const endAt = Date.now() + opt.minutes * 60_000;
    let n = 0;
    const workers = Array.from({ length: opt.calls }, async (_, w) => {
      // Stagger the start so calls do not all begin and end together.
      await new Promise((r) => setTimeout(r, (w * 3000) / opt.calls));
      while (Date.now() < endAt) {
        await oneCall(url, n++, tally);
        // The conversations are kept by the local agent for tests: forget them (not the bridge's memory).
        if (agent && agent.conversations.length > 200) agent.forgetConversations();
      }
    });

    const samples: Sample[] = [];
    const t0 = Date.now();
    let last = procStat(pid);
    let lastT = t0;
    const sampler = setInterval(async () => {
      const now = Date.now();
      const cur = procStat(pid);
      let active = -1;
      try {
        active = (
          (await (await fetch(`http://127.0.0.1:${b.port}/health`)).json()) as { active_calls: number }
        ).active_calls;
      } catch {
        // reported as -1
      }
      const s: Sample = {
        t: (now - t0) / 1000,
        active,
        done: tally.done,
        unexpected: tally.unexpected,
        rssMb: cur.rssMb,
        cpuPct: ((cur.cpuMs - last.cpuMs) / (now - lastT)) * 100,
      };
      samples.push(s);
      last = cur;
      lastT = now;
      say(
        `${s.t.toFixed(0).padStart(5)} s  active ${String(s.active).padStart(3)}  done ${String(s.done).padStart(5)}  ` +
          `unexpected ${s.unexpected}  violations ${tally.violations}  rss ${s.rssMb.toFixed(1)} MB  cpu ${s.cpuPct.toFixed(1)}%`,
      );
    }, opt.sampleS * 1000);

    await Promise.all(workers);
    clearInterval(sampler);
    // Idle after the run: memory should come back down, not stay at the peak.
    await new Promise((r) => setTimeout(r, 3000));
    const idle = procStat(pid);
    const secondHalf = samples.slice(Math.floor(samples.length / 2));
    const slope = slopeMbPerMin(secondHalf);
    const peak = Math.max(...samples.map((s) => s.rssMb), idle.rssMb);
    const cpuAvg = samples.length ? samples.reduce((a, s) => a + s.cpuPct, 0) / samples.length : 0;
    const report = {
      date: new Date().toISOString(),
      minutes: opt.minutes,
      population: opt.calls,
      calls: tally.done,
      byKind: tally.byKind,
      unexpectedFailures: tally.unexpected,
      failures: tally.failures,
      frameViolations: tally.violations,
      bridgeErrors: b.errors.slice(0, 20),
      rssMb: { first: samples[0]?.rssMb ?? idle.rssMb, peak, idleAfter: idle.rssMb },
      rssSlopeSecondHalfMbPerMin: slope,
      cpuPctAvg: cpuAvg,
      samples,
    };
    mkdirSync(opt.out, { recursive: true });
    const file = join(opt.out, `${report.date.replace(/[:.]/g, "-")}.json`);
    writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);

    // Memory growth tolerance: a couple of MB per minute of noise; a leak at this churn shows more.
    const leaking = opt.minutes >= 2 && slope > 2;
    const ok = tally.unexpected === 0 && tally.violations === 0 && b.errors.length === 0 && !leaking;
    say("");
    say(`Soak ${ok ? "OK" : "FAILED"}: ${opt.minutes} min, ${tally.done} calls (population ${opt.calls})`);
    say(`  by kind:              ${JSON.stringify(tally.byKind)}`);
    say(
      `  unexpected failures:  ${tally.unexpected}${tally.failures.length ? ` (${tally.failures[0]})` : ""}`,
    );
    say(`  frame violations:     ${tally.violations}`);
    say(`  bridge errors:        ${b.errors.length}`);
    say(
      `  RSS:                  first ${report.rssMb.first.toFixed(1)} MB, peak ${peak.toFixed(1)} MB, idle after ${idle.rssMb.toFixed(1)} MB; second-half slope ${slope.toFixed(2)} MB/min`,
    );
    say(`  CPU (bridge):         ${cpuAvg.toFixed(1)}% of one core on average`);
    say(`  report:               ${file}`);
    stop();
    process.exitCode = ok ? 0 : 1;
  } catch (err) {
    say(`soak: ${(err as Error).message}`);
    stop();
    process.exitCode = 1;
  }
}

void main();
