/**
 * Small statistics for the benchmark: a fixed-size latency histogram (allocation-free while
 * recording, exact max), medians across runs, and reading CPU time and RSS of a process from /proc.
 */
import { readFileSync } from "node:fs";

/** Latencies in ms, binned at 0.05 ms up to 500 ms; the max is exact. */
export class LatencyHistogram {
  static readonly BIN_MS = 0.05;
  private readonly bins = new Uint32Array(10_000);
  count = 0;
  max = 0;
  sum = 0;

  add(ms: number): void {
    const v = Math.max(ms, 0);
    const i = Math.min(this.bins.length - 1, Math.floor(v / LatencyHistogram.BIN_MS));
    this.bins[i] = (this.bins[i] as number) + 1;
    this.count++;
    this.sum += v;
    if (v > this.max) this.max = v;
  }

  /** Upper edge of the bin holding quantile `q` (0..1); 0 when empty. */
  quantile(q: number): number {
    if (this.count === 0) return 0;
    const rank = Math.ceil(q * this.count);
    let seen = 0;
    for (let i = 0; i < this.bins.length; i++) {
      seen += this.bins[i] as number;
      if (seen >= rank) return Math.min(this.max, (i + 1) * LatencyHistogram.BIN_MS);
    }
    return this.max;
  }
}

export function median(values: readonly number[]): number {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return Number.NaN;
  const mid = v.length >> 1;
  return v.length % 2 === 1 ? (v[mid] as number) : ((v[mid - 1] as number) + (v[mid] as number)) / 2;
}

/** Clock ticks per second for /proc/<pid>/stat times: 100 on every Linux this runs on. */
export const CLK_TCK = 100;

/** User + system CPU of every thread of `pid`, in ms (from /proc/<pid>/stat, 10 ms resolution). */
export function procCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "latin1");
  // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
  const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  return ((utime + stime) * 1000) / CLK_TCK;
}

/** Resident set size and its high-water mark, in KiB (from /proc/<pid>/status). */
export function procRssKiB(pid: number): { rss: number; hwm: number } {
  const status = readFileSync(`/proc/${pid}/status`, "latin1");
  return { rss: field(status, "VmRSS:"), hwm: field(status, "VmHWM:") };
}

function field(status: string, name: string): number {
  const i = status.indexOf(name);
  if (i < 0) return Number.NaN;
  return Number.parseInt(status.slice(i + name.length), 10);
}

/** Busy and total CPU time of the whole machine so far, in ms (from /proc/stat). */
export function machineCpuMs(): { busy: number; total: number } {
  const line = readFileSync("/proc/stat", "latin1").split("\n", 1)[0] as string;
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal (guest time is already inside user).
  const idle = (v[3] ?? 0) + (v[4] ?? 0);
  const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
  return { busy: ((total - idle) * 1000) / CLK_TCK, total: (total * 1000) / CLK_TCK };
}

/** CPU of the main thread of `pid` alone (the JavaScript thread), in ms. */
export function mainThreadCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/task/${pid}/stat`, "latin1");
  const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return ((Number(rest[11]) + Number(rest[12])) * 1000) / CLK_TCK;
}
