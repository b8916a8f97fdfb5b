/**
 * `npm run bench`: the bridge against a bare relay, on the same load, in one run.
 *
 * For each path (passthrough, resampling) and each of K runs, alternating which goes first, it
 * starts the load generator (load.ts: local agent + N simulated Exotel callers, one process), then
 * the relay under test as a separate child process (the compiled bridge, `node app/dist/main.js`,
 * or the floor, baseline-relay.ts), lets the load measure it, stops it, and keeps the result.
 * Medians and bridge/baseline ratios print as a table and go to out/bench/<timestamp>.json with
 * every run's raw numbers; relay logs and CPU profiles (--profile) go to out/bench/<timestamp>/.
 *
 * The bench's own TypeScript (load generator, baseline relay) is transpiled to plain JavaScript
 * first, so neither runs under a loader; the bridge runs as it does in production.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { once } from "node:events";
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { cpus, loadavg } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import type { ChildMessage, LoadSpec, ParentMessage } from "./load.js";
import { type BenchOptions, PATHS, type PathName, parseOptions, type RelayName } from "./options.js";
import { formatTable, type RunRecord, summarisePaths } from "./report.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const BENCH_SRC = path.join(ROOT, "scripts/bench");
/** Idle time between the relay reporting healthy and the load starting: idle RSS is read after it. */
const IDLE_SETTLE_MS = 1000;

const tty = process.stdout.isTTY === true;
let lastPlain = "";

function progress(line: string, key = line): void {
  if (tty) process.stdout.write(`\r\x1b[K${line}`);
  else if (key !== lastPlain) {
    lastPlain = key;
    process.stdout.write(`${line}\n`);
  }
}

function endProgress(): void {
  if (tty) process.stdout.write("\r\x1b[K");
}

/** Transpiles the bench's own modules into `jsDir` (type-only imports vanish; `.js` specifiers stay). */
function compileBench(jsDir: string): string {
  mkdirSync(jsDir, { recursive: true });
  for (const f of readdirSync(BENCH_SRC)) {
    if (!f.endsWith(".ts") || f === "index.ts") continue;
    const source = readFileSync(path.join(BENCH_SRC, f), "utf8");
    const js = ts.transpileModule(source, {
      compilerOptions: {
        module: ts.ModuleKind.ESNext,
        target: ts.ScriptTarget.ES2022,
        verbatimModuleSyntax: true,
      },
      fileName: f,
    }).outputText;
    writeFileSync(path.join(jsDir, f.replace(/\.ts$/, ".js")), js);
  }
  // out/ sits under the root package ("type": "module"), but say so explicitly for other out dirs.
  writeFileSync(path.join(jsDir, "package.json"), '{"type":"module"}\n');
  return jsDir;
}

function buildBridge(): void {
  progress("building the bridge (npm run build)...");
  execFileSync(
    process.execPath,
    [path.join(ROOT, "node_modules/typescript/bin/tsc"), "-p", "app/tsconfig.json"],
    {
      cwd: ROOT,
      stdio: ["ignore", "inherit", "inherit"],
    },
  );
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

async function waitHealthy(port: number, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`relay exited during start-up (code ${child.exitCode})`);
    try {
      const res = await fetch(`http://127.0.0.1:${port}/healthz`);
      if (res.status === 200) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`relay not healthy after ${timeoutMs} ms`);
}

async function stop(child: ChildProcess, timeoutMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, "exit");
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  await exited;
  clearTimeout(timer);
}

/** Instructions in the window: the `totals:` line of the dump callgrind_control -d asked for (`.1`). */
function callgrindTotal(dir: string, prefix: string): number {
  const dump = readdirSync(dir).find((f) => f.startsWith(prefix) && f.endsWith(".1"));
  if (dump === undefined) throw new Error(`no callgrind dump ${prefix}.<pid>.1 in ${dir}`);
  const m = /^totals:\s*(\d+)/m.exec(readFileSync(path.join(dir, dump), "utf8"));
  if (!m) throw new Error(`no totals in ${dump}`);
  return Number(m[1]);
}

function scanLog(file: string): RunRecord["log"] {
  let warnings = 0;
  const samples: string[] = [];
  for (const line of readFileSync(file, "utf8").split("\n")) {
    // Valgrind's own lines (--callgrind) are not the relay's.
    if (!line || /^==\d+==/.test(line)) continue;
    const bad = /"severity":"(WARNING|ERROR|CRITICAL)"/.test(line) || !line.startsWith("{");
    if (!bad) continue;
    warnings++;
    if (samples.length < 5) samples.push(line.slice(0, 300));
  }
  return { file: path.relative(ROOT, file), warnings, samples };
}

interface RunContext {
  readonly options: BenchOptions;
  readonly jsDir: string;
  readonly runDir: string;
  readonly label: string;
}

async function runOne(
  ctx: RunContext,
  run: number,
  pathName: PathName,
  relay: RelayName,
): Promise<RunRecord> {
  const { options } = ctx;
  const spec: LoadSpec = {
    relay,
    calls: options.calls,
    durationS: options.durationS,
    rampS: options.rampS,
    settleS: options.settleS,
    drainS: options.drainS,
    exotelRate: 8000,
    agentFormat: PATHS[pathName].agentFormat,
    tickMs: options.tickMs,
    callgrind: options.callgrind,
  };
  // BENCH_PROFILE_LOAD=1 profiles the load generator itself (is it cheap enough?).
  const loadArgs = process.env.BENCH_PROFILE_LOAD
    ? [
        "--cpu-prof",
        `--cpu-prof-dir=${ctx.runDir}`,
        `--cpu-prof-name=run${run}-${pathName}-${relay}-load.cpuprofile`,
      ]
    : [];
  const load = spawn(process.execPath, [...loadArgs, path.join(ctx.jsDir, "load.js"), JSON.stringify(spec)], {
    cwd: ROOT,
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  let server: ChildProcess | null = null;
  try {
    const messages: ChildMessage[] = [];
    let wake: (() => void) | null = null;
    load.on("message", (m: ChildMessage) => {
      if (m.type === "progress") return;
      messages.push(m);
      wake?.();
    });
    const next = async (type: ChildMessage["type"]): Promise<ChildMessage> => {
      for (;;) {
        const i = messages.findIndex((m) => m.type === type || m.type === "fatal");
        if (i >= 0) {
          const m = messages.splice(i, 1)[0] as ChildMessage;
          if (m.type === "fatal") throw new Error(`load generator failed: ${m.message}`);
          return m;
        }
        if (load.exitCode !== null) throw new Error(`load generator exited (code ${load.exitCode})`);
        const exit = once(load, "exit");
        await Promise.race([new Promise<void>((r) => (wake = r)), exit]);
        wake = null;
      }
    };
    load.on("message", (m: ChildMessage) => {
      if (m.type === "progress") {
        progress(
          `${ctx.label} run ${run}/${options.runs} ${pathName} ${relay}: ${m.phase} t=${m.t.toFixed(1)}s connected ${m.connected} streaming ${m.streaming} closed ${m.closed}`,
          `${ctx.label} run ${run}/${options.runs} ${pathName} ${relay}: ${m.phase}`,
        );
      }
    });
    const ready = (await next("ready")) as Extract<ChildMessage, { type: "ready" }>;

    const port = await freePort();
    const logFile = path.join(ctx.runDir, `run${run}-${pathName}-${relay}.log`);
    const logFd = openSync(logFile, "w");
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      PORT: String(port),
      BRIDGE_HOST: "127.0.0.1",
      ELEVENLABS_AGENT_ID: "bench-agent",
      ELEVENLABS_API_KEY: "",
      ELEVENLABS_BASE_URL: `http://127.0.0.1:${ready.agentPort}`,
      LOG_LEVEL: options.logLevel,
      MAX_CONCURRENT_CALLS: String(Math.max(500, options.calls + 10)),
      // The load generator reads /metrics from this machine, as an in-instance collector would.
      METRICS_ALLOWED_CIDRS: "127.0.0.1/32",
      // Both relays find bufferutil (native WebSocket masking): the baseline from the root
      // node_modules, the bridge from app/'s, which ships it in the image as in production.
      ...(relay === "bridge" && options.bridgeEnv),
    };
    const nodeArgs: string[] = [...options.nodeArgs];
    if (options.profile) {
      nodeArgs.push(
        "--cpu-prof",
        `--cpu-prof-dir=${ctx.runDir}`,
        `--cpu-prof-name=run${run}-${pathName}-${relay}.cpuprofile`,
      );
    }
    const entry =
      relay === "baseline"
        ? [path.join(ctx.jsDir, "baseline-relay.js")]
        : options.bridgeEntry !== undefined
          ? [path.resolve(ROOT, options.bridgeEntry)]
          : options.bridgeFrom === "dist"
            ? [path.join(ROOT, "app/dist/main.js")]
            : // Resolved here: the relay's cwd is the run directory, from which "tsx" would not resolve.
              ["--import", import.meta.resolve("tsx"), path.join(ROOT, "app/src/main.ts")];
    const cgPrefix = path.join(ctx.runDir, `run${run}-${pathName}-${relay}.callgrind`);
    const command = options.callgrind
      ? ["valgrind", "--tool=callgrind", `--callgrind-out-file=${cgPrefix}.%p`, process.execPath]
      : [process.execPath];
    // cwd is the run directory: the bridge reads `.env` from its cwd, and the developer's must not leak in.
    server = spawn(command[0] as string, [...command.slice(1), ...nodeArgs, ...entry], {
      cwd: ctx.runDir,
      env,
      stdio: ["ignore", logFd, logFd],
    });
    closeSync(logFd);
    await waitHealthy(port, server, options.callgrind ? 120_000 : 20_000);
    await new Promise((r) => setTimeout(r, IDLE_SETTLE_MS));
    const go: ParentMessage = {
      type: "go",
      url: `ws://127.0.0.1:${port}/media`,
      pid: server.pid as number,
      ...(relay === "bridge" && { metricsUrl: `http://127.0.0.1:${port}/metrics` }),
    };
    load.send(go);
    const done = (await next("result")) as Extract<ChildMessage, { type: "result" }>;
    await stop(server, 15_000);
    const instructions = options.callgrind ? callgrindTotal(ctx.runDir, path.basename(cgPrefix)) : undefined;
    return {
      run,
      path: pathName,
      relay,
      result: done.result,
      log: scanLog(logFile),
      ...(instructions !== undefined && {
        instructionsPerCallS: Math.round(instructions / (options.calls * done.result.callgrindSeconds)),
      }),
    };
  } finally {
    if (server) await stop(server, 5000);
    await stop(load, 5000);
  }
}

function machine() {
  const cpuinfo = readFileSync("/proc/cpuinfo", "utf8");
  return {
    nproc: cpus().length,
    cpuModel: /model name\s*:\s*(.*)/.exec(cpuinfo)?.[1] ?? "unknown",
    node: process.version,
    loadavgAtStart: loadavg().map((x) => Math.round(x * 100) / 100),
  };
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  const outDir = path.resolve(ROOT, options.outDir);
  const runDir = path.join(outDir, stamp);
  mkdirSync(runDir, { recursive: true });
  // Inside the repository whatever --out says: the compiled modules resolve `ws` from node_modules.
  const jsDir = compileBench(path.join(ROOT, "out/bench/.js", `${stamp}-${process.pid}`));
  if (options.relays.includes("bridge") && options.bridgeFrom === "dist" && options.build) buildBridge();
  const info = machine();
  const started = Date.now();
  const records: RunRecord[] = [];
  const total = options.runs * options.paths.length * options.relays.length;
  for (let run = 1; run <= options.runs; run++) {
    for (const pathName of options.paths) {
      // Alternate which relay goes first, so slow drift on the shared machine hits both equally.
      const order = run % 2 === 1 ? options.relays : [...options.relays].reverse();
      for (const relay of order) {
        const label = `[${records.length + 1}/${total}]`;
        records.push(await runOne({ options, jsDir, runDir, label }, run, pathName, relay));
      }
    }
  }
  endProgress();
  const summary = summarisePaths(options, records);
  const report = {
    kind: "exotel-bridge benchmark",
    date: new Date(started).toISOString(),
    elapsedS: Math.round((Date.now() - started) / 1000),
    machine: { ...info, loadavgAtEnd: loadavg().map((x) => Math.round(x * 100) / 100) },
    options,
    summary,
    runs: records,
  };
  const jsonFile = path.join(outDir, `${stamp}.json`);
  writeFileSync(jsonFile, `${JSON.stringify(report, null, 2)}\n`);
  process.stdout.write(
    `exotel-bridge benchmark, ${report.date}: ${info.nproc} cores (${info.cpuModel}), Node ${info.node}, load average at start ${info.loadavgAtStart.join(" ")}\n`,
  );
  process.stdout.write(`${formatTable(options, summary)}\n`);
  for (const r of records) {
    if (r.log.warnings > 0) {
      process.stdout.write(
        `\n${r.relay} run ${r.run} ${r.path}: ${r.log.warnings} log lines at warning or above (${r.log.file}), e.g.\n  ${r.log.samples.join("\n  ")}\n`,
      );
    }
  }
  process.stdout.write(`\nreport: ${path.relative(ROOT, jsonFile)}\n`);
}

main().catch((err: unknown) => {
  endProgress();
  process.stderr.write(`bench: ${(err as Error)?.stack ?? err}\n`);
  process.exit(1);
});
