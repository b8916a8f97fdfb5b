/**
 * Command-line options of `npm run bench`, with their defaults in one place.
 *   npm run bench -- --calls 500 --duration 20 --runs 3 --paths passthrough,resample
 *   npm run bench -- --quick          (CI: 20 calls, 4 s, 1 run, both paths; behaviour, not timing)
 */

export type PathName = "passthrough" | "resample";
export type RelayName = "baseline" | "bridge";

export interface BenchOptions {
  readonly calls: number;
  readonly durationS: number;
  readonly runs: number;
  readonly paths: readonly PathName[];
  readonly relays: readonly RelayName[];
  /** Seconds over which calls are connected; default N/100 s, clamped to 1..5 s. */
  readonly rampS: number;
  readonly settleS: number;
  readonly drainS: number;
  /** `dist`: compile app/ once (npm run build) and run node app/dist/main.js; `src`: tsx on app/src. */
  readonly bridgeFrom: "dist" | "src";
  /** A compiled bridge entry point to run instead (A/B against an older build); implies no build. */
  readonly bridgeEntry: string | undefined;
  /** Extra environment for the bridge only (e.g. RESAMPLER_QUALITY=3), to try a setting on the same load. */
  readonly bridgeEnv: Readonly<Record<string, string>>;
  /** Extra node flags for both relays (e.g. --trace-gc), space-separated. */
  readonly nodeArgs: readonly string[];
  readonly build: boolean;
  /** Write a V8 CPU profile of every relay run (node --cpu-prof) next to the report. */
  readonly profile: boolean;
  /**
   * Run each relay under valgrind's callgrind and count the instructions it executes in the
   * measured window: repeatable where CPU time is not (a shared machine), user space only.
   */
  readonly callgrind: boolean;
  readonly logLevel: string;
  readonly outDir: string;
  readonly quick: boolean;
  readonly tickMs: number;
}

export const PATHS: Record<PathName, { agentFormat: "pcm_8000" | "pcm_16000"; label: string }> = {
  passthrough: { agentFormat: "pcm_8000", label: "passthrough (agent pcm_8000, Exotel 8 kHz)" },
  resample: { agentFormat: "pcm_16000", label: "resampling (agent pcm_16000 both ways, Exotel 8 kHz)" },
};

const HELP = `usage: npm run bench -- [options]
  --calls N            concurrent calls (default 200; --quick 20)
  --duration S         seconds each call streams (default 20; --quick 4)
  --runs K             baseline/bridge pairs per path, alternating; medians reported (default 3; --quick 1)
  --paths LIST         passthrough,resample (default both)
  --relays LIST        baseline,bridge (default both)
  --ramp S             ramp-in time (default calls/100 s, 1..5 s; --quick 0.5)
  --settle S           pause after the ramp before measuring (default 1; --quick 0.5)
  --drain S            agent stops this long before hang-up so queued audio plays (default 2; --quick 1.5)
  --bridge dist|src    run the compiled bridge (default; builds first) or app/src through tsx
  --no-build           with --bridge dist, reuse app/dist as it is
  --bridge-entry FILE  run this compiled main.js as the bridge (e.g. an older build, for before/after)
  --node-args "FLAGS"  extra node flags for both relays (e.g. "--trace-gc"), same for both
  --bridge-env K=V,..  extra environment for the bridge (e.g. RESAMPLER_QUALITY=3)
  --profile            node --cpu-prof on each relay; profiles land next to the report
  --callgrind          count each relay's instructions per call-second under valgrind (stable across
                       machine load; slow, so default 8 calls x 30 s, 1 run); CPU and latency then
                       describe valgrind, not the relay
  --log-level L        bridge LOG_LEVEL (default info: per-call lines only, nothing per frame)
  --out DIR            report directory (default out/bench)
  --quick              small, fast run for CI (catches behaviour regressions, not timing)`;

export function parseOptions(argv: readonly string[]): BenchOptions {
  const flags = new Map<string, string>();
  const bools = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === "--help" || a === "-h") {
      process.stdout.write(`${HELP}\n`);
      process.exit(0);
    }
    if (!a.startsWith("--")) throw new Error(`unexpected argument ${a}\n${HELP}`);
    const eq = a.indexOf("=");
    const name = eq > 0 ? a.slice(2, eq) : a.slice(2);
    if (["quick", "no-build", "profile", "callgrind"].includes(name)) {
      bools.add(name);
      continue;
    }
    const value = eq > 0 ? a.slice(eq + 1) : argv[++i];
    if (value === undefined) throw new Error(`--${name} needs a value\n${HELP}`);
    flags.set(name, value);
  }
  const known = [
    "calls",
    "duration",
    "runs",
    "paths",
    "relays",
    "ramp",
    "settle",
    "drain",
    "bridge",
    "log-level",
    "out",
    "tick",
    "bridge-entry",
    "node-args",
    "bridge-env",
  ];
  for (const k of flags.keys()) if (!known.includes(k)) throw new Error(`unknown option --${k}\n${HELP}`);

  const quick = bools.has("quick");
  const callgrind = bools.has("callgrind");
  const num = (name: string, def: number, min: number, max: number): number => {
    const raw = flags.get(name);
    if (raw === undefined) return def;
    const v = Number(raw);
    if (!Number.isFinite(v) || v < min || v > max)
      throw new Error(`--${name} must be a number ${min}..${max}`);
    return v;
  };
  const list = <T extends string>(name: string, allowed: readonly T[]): T[] => {
    const raw = flags.get(name);
    if (raw === undefined) return [...allowed];
    const items = raw.split(",").map((s) => s.trim());
    for (const it of items) {
      if (!allowed.includes(it as T)) throw new Error(`--${name}: ${it} is not one of ${allowed.join(",")}`);
    }
    return items as T[];
  };

  const calls = Math.round(num("calls", quick ? 20 : callgrind ? 8 : 200, 1, 5000));
  const bridgeFrom = flags.get("bridge") ?? "dist";
  if (bridgeFrom !== "dist" && bridgeFrom !== "src") throw new Error("--bridge must be dist or src");
  const options: BenchOptions = {
    calls,
    durationS: num("duration", quick ? 4 : callgrind ? 30 : 20, 2, 3600),
    runs: Math.round(num("runs", quick || callgrind ? 1 : 3, 1, 50)),
    paths: list("paths", ["passthrough", "resample"] as const),
    relays: list("relays", ["baseline", "bridge"] as const),
    rampS: num("ramp", quick ? 0.5 : Math.min(5, Math.max(1, calls / 100)), 0, 120),
    settleS: num("settle", quick ? 0.5 : callgrind ? 3 : 1, 0, 60),
    drainS: num("drain", quick ? 1.5 : 2, 0.5, 60),
    bridgeFrom,
    bridgeEntry: flags.get("bridge-entry"),
    nodeArgs: (flags.get("node-args") ?? "").split(" ").filter(Boolean),
    bridgeEnv: Object.fromEntries(
      (flags.get("bridge-env") ?? "")
        .split(",")
        .filter(Boolean)
        .map((kv) => {
          const i = kv.indexOf("=");
          if (i <= 0) throw new Error(`--bridge-env: ${kv} is not KEY=VALUE`);
          return [kv.slice(0, i), kv.slice(i + 1)];
        }),
    ),
    build: !bools.has("no-build") && flags.get("bridge-entry") === undefined,
    profile: bools.has("profile"),
    callgrind,
    logLevel: flags.get("log-level") ?? "info",
    outDir: flags.get("out") ?? "out/bench",
    quick,
    tickMs: num("tick", 5, 1, 50),
  };
  const windowS = options.durationS - options.drainS - options.rampS - options.settleS;
  if (windowS < 1) {
    throw new Error(
      `the measured window would be ${windowS.toFixed(1)} s: raise --duration (it must exceed ramp + settle + drain + 1 s)`,
    );
  }
  return options;
}
