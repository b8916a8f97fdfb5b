/**
 * Summarises a V8 CPU profile (`npm run bench -- --profile` writes one per bridge run):
 * self time by function and by file, and total (inclusive) time of the bridge's own functions.
 * With the run's JSON report, only the samples inside the measured (steady-state) window count.
 *   node --import tsx scripts/bench/profile-summary.ts <stamp>/run1-passthrough-bridge.cpuprofile [top] [report.json]
 */
import { readFileSync } from "node:fs";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

const file = process.argv[2];
const top = Number(process.argv[3] ?? 30);
const reportFile = process.argv[4];
if (!file) {
  process.stderr.write("usage: profile-summary.ts <file.cpuprofile> [top]\n");
  process.exit(2);
}
const profile = JSON.parse(readFileSync(file, "utf8")) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

/** The steady-state window of the run this profile belongs to (its file name says which). */
function windowOf(report: string): [number, number] {
  const r = JSON.parse(readFileSync(report, "utf8")) as {
    runs: {
      run: number;
      path: string;
      relay: string;
      result: { window: { monotonicUs: [number, number] } };
    }[];
  };
  const m = /run(\d+)-(\w+)-(\w+)\.cpuprofile$/.exec(file as string);
  const run = r.runs.find((x) => m && x.run === Number(m[1]) && x.path === m[2] && x.relay === m[3]);
  if (!run) throw new Error(`no run in ${report} matches ${file}`);
  return run.result.window.monotonicUs;
}
const [from, to] = reportFile ? windowOf(reportFile) : [0, Number.POSITIVE_INFINITY];

const selfUs = new Map<number, number>();
let t = profile.startTime;
let totalUs = 0;
for (let i = 0; i < profile.samples.length; i++) {
  const dt = profile.timeDeltas[i] ?? 0;
  t += dt;
  if (t < from || t > to) continue;
  const id = profile.samples[i] as number;
  selfUs.set(id, (selfUs.get(id) ?? 0) + dt);
  totalUs += dt;
}

function short(url: string): string {
  const m = /\/(app\/(?:dist|src)\/.*|node_modules\/.*)$/.exec(url);
  if (m) return (m[1] as string).replace(/^node_modules\/(\.pnpm\/)?/, "");
  if (url.startsWith("node:")) return url;
  return url === "" ? "(native)" : url.split("/").slice(-2).join("/");
}
function label(n: ProfileNode): string {
  const f = n.callFrame;
  return `${f.functionName || "(anonymous)"} ${short(f.url)}:${f.lineNumber + 1}`;
}

const selfByFn = new Map<string, number>();
const selfByFile = new Map<string, number>();
const inclusive = new Map<string, number>();
for (const [id, us] of selfUs) {
  const n = byId.get(id) as ProfileNode;
  const key = label(n);
  selfByFn.set(key, (selfByFn.get(key) ?? 0) + us);
  const f = short(n.callFrame.url) || n.callFrame.functionName;
  selfByFile.set(f, (selfByFile.get(f) ?? 0) + us);
  // Inclusive time: charge every distinct frame on the stack once.
  const seen = new Set<string>();
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
    const k = label(byId.get(cur) as ProfileNode);
    if (seen.has(k)) continue;
    seen.add(k);
    inclusive.set(k, (inclusive.get(k) ?? 0) + us);
  }
}

const pct = (us: number) => `${((us / totalUs) * 100).toFixed(1).padStart(5)}%`;
const ms = (us: number) => `${(us / 1000).toFixed(0).padStart(7)} ms`;
const print = (title: string, m: Map<string, number>, filter: (k: string) => boolean = () => true) => {
  process.stdout.write(`\n${title}\n`);
  for (const [k, us] of [...m]
    .filter(([k]) => filter(k))
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)) {
    process.stdout.write(`${ms(us)} ${pct(us)}  ${k}\n`);
  }
};
process.stdout.on("error", () => process.exit(0));
process.stdout.write(
  `${file}: ${(totalUs / 1e6).toFixed(1)} s profiled${reportFile ? " (measured window only)" : ""}\n`,
);
print("self time by function", selfByFn);
print("self time by file", selfByFile);
print("inclusive time, relay code", inclusive, (k) => k.includes("app/") || k.includes("baseline-relay"));
