/**
 * Turns the runs of one benchmark into medians, bridge/baseline ratios and target verdicts, and
 * prints them as a table. The JSON report holds the same summary plus every run's raw result.
 */
import type { LoadResult } from "./load.js";
import { type BenchOptions, PATHS, type PathName, type RelayName } from "./options.js";
import { median } from "./stats.js";

export interface RunRecord {
  readonly run: number;
  readonly path: PathName;
  readonly relay: RelayName;
  readonly result: LoadResult;
  /** Relay log lines at warning level or above (the bridge logs JSON with `severity`). */
  readonly log: { readonly file: string; readonly warnings: number; readonly samples: readonly string[] };
  /** Under --callgrind: the relay's instructions per call-second over the window. */
  readonly instructionsPerCallS?: number;
}

export interface RelaySummary {
  readonly runs: number;
  /** Medians across runs. */
  readonly cpuMsPerCallS: number;
  /**
   * The JavaScript (main) thread's share of cpuMsPerCallS. The rest is V8's helper threads (concurrent
   * marking, parallel scavenges, sweeping) and libuv's pool: it shows whether a CPU gap is the relay's
   * own work or garbage collection of its heap.
   */
  readonly mainThreadCpuMsPerCallS: number;
  readonly rssPerCallKiB: number;
  readonly idleRssKiB: number;
  readonly peakRssKiB: number;
  readonly latencyP50Ms: number;
  readonly latencyP99Ms: number;
  readonly latencyMaxMs: number;
  readonly loadCpuMsPerCallS: number;
  /** The load generator's own event-loop delay p99 (median across runs): the floor under latency. */
  readonly loadLoopDelayP99Ms: number;
  /** The relay's own event-loop delay p99 and max over the window (bridge only; medians). */
  readonly relayLoopDelayP99Ms: number;
  readonly relayLoopDelayMaxMs: number;
  /** CPU of everything else on the machine during the window, in cores (noise indicator). */
  readonly otherCores: number;
  /** Under --callgrind: median instructions per call-second (user space, all threads). */
  readonly instructionsPerCallS?: number;
  /** Worst across runs. */
  readonly framesLost: number;
  readonly orderMismatches: number;
  readonly violations: number;
  readonly minDelivery: number;
  readonly maxPaddingMsPerCall: number;
  readonly maxLeadMs: number;
  readonly missedPongs: number;
  readonly callsNotOk: number;
  readonly logWarnings: number;
  readonly errors: readonly string[];
}

export interface Target {
  readonly name: string;
  readonly limit: string;
  readonly value: string;
  readonly ok: boolean;
}

export interface PathSummary {
  readonly label: string;
  readonly baseline?: RelaySummary;
  readonly bridge?: RelaySummary;
  readonly ratios?: {
    readonly cpu: number;
    readonly rss: number;
    /** JavaScript thread only (see RelaySummary.mainThreadCpuMsPerCallS). */
    readonly cpuMainThread: number;
    /** Median of the per-pair ratios (each bridge run against its neighbouring baseline run). */
    readonly cpuPaired: number;
    readonly rssPaired: number;
    /** Under --callgrind: instructions per call-second, bridge/baseline. */
    readonly instructions?: number;
  };
  readonly targets: readonly Target[];
}

function summarise(records: readonly RunRecord[]): RelaySummary {
  const r = records.map((x) => x.result);
  const m = (f: (x: LoadResult) => number) => median(r.map(f));
  const worst = (f: (x: LoadResult) => number) => Math.max(...r.map(f));
  return {
    runs: r.length,
    cpuMsPerCallS: m((x) => x.server.cpuMsPerCallS),
    mainThreadCpuMsPerCallS: m((x) =>
      x.server.cpuMs > 0 ? (x.server.cpuMsPerCallS * x.server.mainThreadCpuMs) / x.server.cpuMs : 0,
    ),
    rssPerCallKiB: m((x) => x.server.rssPerCallKiB),
    idleRssKiB: m((x) => x.server.idleRssKiB),
    peakRssKiB: m((x) => x.server.peakRssKiB),
    latencyP50Ms: m((x) => x.latency.p50),
    latencyP99Ms: m((x) => x.latency.p99),
    latencyMaxMs: m((x) => x.latency.max),
    loadCpuMsPerCallS: m((x) => x.load.cpuMsPerCallS),
    loadLoopDelayP99Ms: m((x) => x.load.loopDelayP99Ms),
    relayLoopDelayP99Ms: m((x) => x.server.loopDelayP99Ms ?? Number.NaN),
    relayLoopDelayMaxMs: m((x) => x.server.loopDelayMaxMs ?? Number.NaN),
    otherCores: m((x) => x.machine.otherCores),
    ...(records.some((x) => x.instructionsPerCallS !== undefined) && {
      instructionsPerCallS: median(records.map((x) => x.instructionsPerCallS ?? Number.NaN)),
    }),
    framesLost: worst((x) => x.up.framesLost),
    orderMismatches: worst((x) => x.up.orderMismatches),
    violations: worst((x) => x.down.violations),
    minDelivery: Math.min(...r.map((x) => x.down.delivery)),
    maxPaddingMsPerCall: worst((x) => x.down.paddingMs / x.calls),
    maxLeadMs: worst((x) => x.down.maxLeadMs),
    missedPongs: worst((x) => x.pings.sent - x.pings.pongs),
    callsNotOk: worst((x) => x.calls - x.callsOk),
    logWarnings: Math.max(...records.map((x) => x.log.warnings)),
    errors: [...new Set(r.flatMap((x) => x.errors))].slice(0, 10),
  };
}

const CPU_TARGET: Record<PathName, number> = { passthrough: 1.2, resample: 3 };
const RSS_TARGET = 1.3;
const P99_TARGET_MS = 20;
/** Agent audio the caller must get (the rest: the resampler's few ms of filter delay at hang-up). */
const DELIVERY_TARGET = 0.995;

export function summarisePaths(
  options: BenchOptions,
  records: readonly RunRecord[],
): Record<string, PathSummary> {
  const out: Record<string, PathSummary> = {};
  for (const path of options.paths) {
    const of = (relay: RelayName) => records.filter((x) => x.path === path && x.relay === relay);
    const b = of("baseline");
    const g = of("bridge");
    const baseline = b.length ? summarise(b) : undefined;
    const bridge = g.length ? summarise(g) : undefined;
    let ratios: PathSummary["ratios"];
    if (baseline && bridge) {
      const paired = (f: (x: LoadResult) => number) =>
        median(
          g.map((x) => {
            const mate = b.find((y) => y.run === x.run);
            return mate ? f(x.result) / f(mate.result) : Number.NaN;
          }),
        );
      ratios = {
        cpu: round(bridge.cpuMsPerCallS / baseline.cpuMsPerCallS, 3),
        rss: round(bridge.rssPerCallKiB / baseline.rssPerCallKiB, 3),
        cpuMainThread: round(bridge.mainThreadCpuMsPerCallS / baseline.mainThreadCpuMsPerCallS, 3),
        cpuPaired: round(
          paired((x) => x.server.cpuMsPerCallS),
          3,
        ),
        rssPaired: round(
          paired((x) => x.server.rssPerCallKiB),
          3,
        ),
        ...(bridge.instructionsPerCallS !== undefined &&
          baseline.instructionsPerCallS !== undefined && {
            instructions: round(bridge.instructionsPerCallS / baseline.instructionsPerCallS, 3),
          }),
      };
    }
    const targets: Target[] = [];
    if (ratios) {
      targets.push({
        name: "CPU per call-second, bridge/baseline",
        limit: `<= ${CPU_TARGET[path]}x`,
        value: `${ratios.cpu.toFixed(2)}x`,
        ok: ratios.cpu <= CPU_TARGET[path],
      });
      targets.push({
        name: "RSS per active call, bridge/baseline",
        limit: `<= ${RSS_TARGET}x`,
        value: `${ratios.rss.toFixed(2)}x`,
        ok: ratios.rss <= RSS_TARGET,
      });
    }
    if (bridge) {
      targets.push(
        {
          name: "caller frames lost or out of order",
          limit: "0",
          value: `${bridge.framesLost} lost, ${bridge.orderMismatches} out of order`,
          ok: bridge.framesLost === 0 && bridge.orderMismatches === 0,
        },
        {
          name: "p99 caller-to-agent latency",
          limit: `< ${P99_TARGET_MS} ms`,
          value: `${bridge.latencyP99Ms.toFixed(2)} ms`,
          ok: bridge.latencyP99Ms < P99_TARGET_MS,
        },
        {
          name: "Exotel frame-rule violations",
          limit: "0",
          value: String(bridge.violations),
          ok: bridge.violations === 0,
        },
        {
          name: "agent audio delivered to callers",
          limit: `>= ${DELIVERY_TARGET * 100}%`,
          value: `${(bridge.minDelivery * 100).toFixed(2)}%`,
          ok: bridge.minDelivery >= DELIVERY_TARGET,
        },
        {
          name: "calls completed, pings answered",
          limit: "all",
          value: `${bridge.callsNotOk} calls short, ${bridge.missedPongs} pongs missing`,
          ok: bridge.callsNotOk === 0 && bridge.missedPongs === 0,
        },
      );
    }
    out[path] = {
      label: PATHS[path].label,
      ...(baseline && { baseline }),
      ...(bridge && { bridge }),
      ...(ratios && { ratios }),
      targets,
    };
  }
  return out;
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

function pad(s: string, n: number, left = false): string {
  return left ? s.padEnd(n) : s.padStart(n);
}

export function formatTable(options: BenchOptions, summary: Record<string, PathSummary>): string {
  const lines: string[] = [];
  const cols = [
    ["CPU ms/call-s", 13],
    ["RSS KiB/call", 12],
    ["p50 ms", 7],
    ["p99 ms", 7],
    ["max ms", 7],
    ["lost/reord", 10],
    ["delivered", 9],
    ["viol.", 5],
    ["max lead", 8],
    ["load CPU", 8],
    ["others", 6],
  ] as const;
  const head = `${pad("", 18, true)}${cols.map(([c, w]) => ` ${pad(c, w)}`).join("")}`;
  for (const path of options.paths) {
    const s = summary[path];
    if (!s) continue;
    lines.push("");
    lines.push(
      `${s.label}: ${options.calls} calls x ${options.durationS} s, median of ${options.runs} run${options.runs > 1 ? "s" : ""}`,
    );
    lines.push(head);
    const row = (name: string, r: RelaySummary | undefined, rules: boolean) => {
      if (!r) return;
      const v = [
        r.cpuMsPerCallS.toFixed(3),
        r.rssPerCallKiB.toFixed(1),
        r.latencyP50Ms.toFixed(2),
        r.latencyP99Ms.toFixed(2),
        r.latencyMaxMs.toFixed(1),
        `${r.framesLost}/${r.orderMismatches}`,
        `${(r.minDelivery * 100).toFixed(2)}%`,
        rules ? String(r.violations) : "-",
        `${Math.round(r.maxLeadMs)} ms`,
        r.loadCpuMsPerCallS.toFixed(3),
        r.otherCores.toFixed(2),
      ];
      lines.push(
        `${pad(name, 18, true)}${v.map((x, i) => ` ${pad(x, (cols[i] as readonly [string, number])[1])}`).join("")}`,
      );
    };
    row("baseline relay", s.baseline, false);
    row("bridge", s.bridge, true);
    if (s.ratios) {
      lines.push(
        `${pad("bridge/baseline", 18, true)} ${pad(`${s.ratios.cpu.toFixed(2)}x`, 13)} ${pad(`${s.ratios.rss.toFixed(2)}x`, 12)}   (paired-run medians: CPU ${s.ratios.cpuPaired.toFixed(2)}x, RSS ${s.ratios.rssPaired.toFixed(2)}x)`,
      );
    }
    if (s.ratios && s.baseline && s.bridge) {
      const helpers = (r: RelaySummary) => (r.cpuMsPerCallS - r.mainThreadCpuMsPerCallS).toFixed(3);
      lines.push(
        `  of which the JavaScript thread: baseline ${s.baseline.mainThreadCpuMsPerCallS.toFixed(3)}, bridge ${s.bridge.mainThreadCpuMsPerCallS.toFixed(3)} = ${s.ratios.cpuMainThread.toFixed(2)}x; other threads (V8 GC helpers, libuv): ${helpers(s.baseline)} / ${helpers(s.bridge)}`,
      );
    }
    const floor = [s.baseline, s.bridge].filter((r): r is RelaySummary => r !== undefined);
    if (floor.length > 0) {
      lines.push(
        `  load generator's own event-loop delay p99 (the floor under every latency above): ${floor.map((r) => r.loadLoopDelayP99Ms.toFixed(1)).join(" / ")} ms`,
      );
    }
    if (s.bridge && Number.isFinite(s.bridge.relayLoopDelayP99Ms)) {
      lines.push(
        `  bridge's own event-loop delay: p99 ${s.bridge.relayLoopDelayP99Ms.toFixed(1)} ms, max ${s.bridge.relayLoopDelayMaxMs.toFixed(1)} ms`,
      );
    }
    if (options.callgrind) {
      const ir = (r: RelaySummary | undefined) => ((r?.instructionsPerCallS ?? Number.NaN) / 1e6).toFixed(2);
      const ratio = s.ratios?.instructions;
      lines.push(
        `  callgrind: instructions per call-second: baseline ${ir(s.baseline)} M, bridge ${ir(s.bridge)} M${ratio !== undefined ? `, bridge/baseline ${ratio.toFixed(2)}x` : ""} (CPU and latency above are valgrind's)`,
      );
    }
    for (const t of s.targets)
      lines.push(`  ${t.ok ? "ok  " : "MISS"} ${t.name}: ${t.value} (target ${t.limit})`);
    const errs = [...(s.bridge?.errors ?? []), ...(s.baseline?.errors ?? [])];
    for (const e of errs.slice(0, 5)) lines.push(`  error: ${e}`);
  }
  lines.push("");
  lines.push(
    "lost/reord: caller frames lost / out of order at the agent; delivered: agent audio heard (padding excluded), worst run;",
  );
  lines.push("viol.: Exotel frames off the 20 ms grid, < 3,200 B or > 100 KB (the baseline does not frame);");
  lines.push(
    "max lead: audio queued ahead of real time at the caller; load CPU: the load generator's own CPU per call-second;",
  );
  lines.push("others: cores used by other processes on the machine during the window (noise; medians).");
  return lines.join("\n");
}
