/**
 * The load generator, run as its own process by the benchmark (index.ts): one process plays both
 * ends of N calls against the relay under test (the bridge or the baseline relay):
 *   - N simulated Exotel callers, ramped in, each streaming 100 ms PCM16 frames at real time;
 *   - a local agent speaking the ElevenLabs Agents protocol: metadata on initiation, then 250 ms
 *     audio bursts at real time and a ping every 2 s, for every conversation.
 * It measures the relay process from outside (/proc CPU and RSS over the steady window), caller
 * frames through the relay (latency matched by cumulative audio duration, order by the constant
 * level each caller frame carries), agent audio delivered to the callers, and Exotel frame rules.
 *
 * Built to stay cheap beside the relay on 2 cores: one timer drives every call, payloads are
 * precomputed and shared, received frames are measured in place (no JSON.parse of audio, no
 * base64 decoding beyond 8 characters per frame), latencies go into a fixed histogram.
 * Talks to the parent over IPC: ready -> go -> progress... -> result.
 */
import { execFile } from "node:child_process";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { WebSocket, WebSocketServer } from "ws";
import { LatencyHistogram, machineCpuMs, mainThreadCpuMs, procCpuMs, procRssKiB } from "./stats.js";
import {
  AGENT_BURST_MS,
  AGENT_PING_MS,
  agentAudio,
  agentMetadata,
  agentPing,
  b64Length,
  b64SampleAt,
  b64TrailingZeroBytes,
  bytesPerMs,
  CALLER_FRAME_MS,
  constantPcm,
  exotelConnected,
  exotelMark,
  exotelMediaHead,
  exotelMediaTail,
  exotelStart,
  exotelStop,
  findMediaPayload,
  findUserAudio,
  isValidExotelPayload,
  MARKER_LEVELS,
  markerLevel,
  tonePcm,
} from "./wire.js";

export type RelayKind = "bridge" | "baseline";

export interface LoadSpec {
  readonly relay: RelayKind;
  readonly calls: number;
  readonly durationS: number;
  readonly rampS: number;
  /** After the ramp, before the measured window opens. */
  readonly settleS: number;
  /** The agent stops speaking this long before its caller hangs up, so queued audio can play. */
  readonly drainS: number;
  readonly exotelRate: number;
  /** `pcm_8000` (passthrough) or `pcm_16000` (resampling), both directions. */
  readonly agentFormat: "pcm_8000" | "pcm_16000";
  readonly tickMs: number;
  /** The relay runs under callgrind: zero its counters when the window opens, dump them when it closes. */
  readonly callgrind: boolean;
}

export interface LoadResult {
  readonly relay: RelayKind;
  readonly calls: number;
  readonly window: {
    seconds: number;
    callsStreamingAtStart: number;
    callsStreamingAtEnd: number;
    /** The window on the system's monotonic clock in µs, as V8 CPU profiles time their samples. */
    monotonicUs: [number, number];
  };
  readonly server: {
    cpuMs: number;
    cpuMsPerCallS: number;
    /** Of cpuMs, the JavaScript thread alone (the rest: GC helpers, libuv threads). */
    mainThreadCpuMs: number;
    /** The relay's own event-loop delay over the window (the bridge's prom-client metrics; null for the baseline). */
    loopDelayP99Ms: number | null;
    loopDelayMaxMs: number | null;
    idleRssKiB: number;
    peakRssKiB: number;
    rssPerCallKiB: number;
  };
  readonly load: {
    cpuMs: number;
    cpuMsPerCallS: number;
    maxTickLagMs: number;
    /**
     * The load generator's own event-loop delay in the window: it delays every timestamp it takes,
     * so it is the floor under the latencies measured through any relay.
     */
    loopDelayP99Ms: number;
    loopDelayMaxMs: number;
  };
  /** The whole machine over the window, in cores: what else ran beside relay and load matters here. */
  readonly machine: { busyCores: number; otherCores: number };
  readonly latency: { count: number; p50: number; p99: number; max: number; mean: number };
  readonly up: {
    framesSent: number;
    sentMs: number;
    receivedMs: number;
    lostMs: number;
    framesLost: number;
    orderChecks: number;
    orderMismatches: number;
    callsWithLoss: number;
  };
  readonly down: {
    agentSentMs: number;
    receivedMs: number;
    paddingMs: number;
    deliveredMs: number;
    delivery: number;
    frames: number;
    violations: number;
    maxLeadMs: number;
    marks: number;
    clears: number;
  };
  readonly pings: { sent: number; pongs: number };
  /** Under --callgrind: seconds between the counters being zeroed and dumped (the orchestrator reads the dump). */
  readonly callgrindSeconds: number;
  readonly callsOk: number;
  readonly errors: readonly string[];
}

/** `metricsUrl`: the bridge's /metrics, read for its own event-loop delay over the window. */
export type ParentMessage = { type: "go"; url: string; pid: number; metricsUrl?: string };
export type ChildMessage =
  | { type: "ready"; agentPort: number }
  | { type: "progress"; phase: string; t: number; connected: number; streaming: number; closed: number }
  | { type: "result"; result: LoadResult }
  | { type: "fatal"; message: string };

/** Resampled caller audio may drift by a few samples per frame; levels are 200 apart. */
const RESAMPLED_LEVEL_TOLERANCE = 40;
/** Audio the resampler legitimately still holds at hang-up (its filter delay), in ms. */
const LOSS_TOLERANCE_MS = 10;
const TEXT = { binary: false } as const;
const LOOP_DELAY_RESOLUTION_MS = 10;
const MAX_ERRORS = 20;

const spec = JSON.parse(process.argv[2] ?? "null") as LoadSpec | null;
if (spec === null) throw new Error("usage: load.js '<LoadSpec JSON>' (started by scripts/bench/index.ts)");

const agentRate = spec.agentFormat === "pcm_16000" ? 16000 : 8000;
// The baseline relay forwards bytes untouched: each side then sees the other side's format.
const upRate = spec.relay === "bridge" ? agentRate : spec.exotelRate;
const downRate = spec.relay === "bridge" ? spec.exotelRate : agentRate;
const upBpm = bytesPerMs(upRate);
const downBpm = bytesPerMs(downRate);
const checkRules = spec.relay === "bridge";
const levelTolerance = upRate === spec.exotelRate ? 0 : RESAMPLED_LEVEL_TOLERANCE;

const framesPerCall = Math.round((spec.durationS * 1000) / CALLER_FRAME_MS);
/** The tail of every caller frame, `"payload":"<base64>"}}`, one per marker level, as bytes. */
const frameTails: Buffer[] = [];
for (let k = 0; k < MARKER_LEVELS; k++) {
  const b64 = constantPcm(markerLevel(k), CALLER_FRAME_MS, spec.exotelRate).toString("base64");
  frameTails.push(Buffer.from(exotelMediaTail(b64)));
}
const burstPcm = tonePcm(AGENT_BURST_MS, agentRate);
const burstFrame = Buffer.from(agentAudio(burstPcm.toString("base64"), 1));
const burstBytes = burstPcm.length;

const latency = new LatencyHistogram();
const errors: string[] = [];
function error(msg: string): void {
  if (errors.length < MAX_ERRORS) errors.push(msg);
}

let windowStart = Number.POSITIVE_INFINITY;
let windowEnd = Number.POSITIVE_INFINITY;
const span = { start: -1, end: -1 };
const SLOW_MS = Number(process.env.BENCH_SLOW_MS ?? Number.POSITIVE_INFINITY);
const slowBuckets = new Map<number, number>();
let t0Global = 0;

class SimCall {
  readonly streamSid: string;
  readonly callSid: string;
  exotel: WebSocket | null = null;
  agent: WebSocket | null = null;
  openAt = -1;
  exotelClosed = false;
  agentClosed = false;
  stopSent = false;
  seq = 1;
  nextFrame = 0;
  readonly sendTimes = new Float64Array(framesPerCall);
  // Caller audio as the agent receives it.
  upBytes = 0;
  orderChecks = 0;
  orderMismatches = 0;
  // The agent's side.
  agentStartAt = -1;
  agentStopAt = 0;
  bursts = 0;
  nextPingAt = 0;
  pingsSent = 0;
  pongs = 0;
  // Agent audio as the caller receives it.
  downBytes = 0;
  padBytes = 0;
  downFrames = 0;
  violations = 0;
  playEnd = 0;
  maxLead = 0;
  marks = 0;
  clears = 0;
  readonly markEchoes: { at: number; name: string }[] = [];

  constructor(readonly idx: number) {
    this.streamSid = `MZbench${idx}`;
    this.callSid = `CAbench${idx}`;
  }

  get streaming(): boolean {
    return this.agentStartAt >= 0 && !this.exotelClosed && !this.agentClosed;
  }

  connect(url: string): void {
    const ws = new WebSocket(`${url}?sample-rate=${spec?.exotelRate}`, {
      perMessageDeflate: false,
      skipUTF8Validation: true,
    });
    this.exotel = ws;
    ws.on("open", () => {
      this.openAt = performance.now();
      ws.send(exotelConnected());
      ws.send(exotelStart(this.streamSid, this.callSid, spec?.exotelRate ?? 8000));
    });
    ws.on("message", (data: Buffer) => this.onCallerMessage(data));
    ws.on("error", (err) => error(`call ${this.idx} exotel socket: ${err.message}`));
    ws.on("close", (code) => {
      this.exotelClosed = true;
      if (!this.stopSent) error(`call ${this.idx}: relay closed the Exotel socket early (${code})`);
    });
  }

  /** Exotel side: agent audio arriving at the caller. */
  onCallerMessage(data: Buffer): void {
    const now = performance.now();
    findMediaPayload(data, span);
    if (span.start < 0) {
      const msg = JSON.parse(data.toString("utf8")) as { event?: string; mark?: { name?: unknown } };
      if (msg.event === "mark") {
        this.marks++;
        // Like Exotel: echo the mark once the audio queued before it has played.
        if (typeof msg.mark?.name === "string")
          this.markEchoes.push({ at: this.playEnd, name: msg.mark.name });
      } else if (msg.event === "clear") this.clears++;
      return;
    }
    const bytes = b64Length(data, span.start, span.end);
    this.downBytes += bytes;
    this.downFrames++;
    if (checkRules && !isValidExotelPayload(bytes, downRate)) this.violations++;
    this.padBytes += b64TrailingZeroBytes(data, span.start, span.end);
    this.playEnd = Math.max(this.playEnd, now) + bytes / downBpm;
    const lead = this.playEnd - now;
    if (lead > this.maxLead) this.maxLead = lead;
  }

  /** Agent side: caller audio arriving at the agent. */
  onUpAudio(data: Buffer, start: number, end: number, now: number): void {
    const bytes = b64Length(data, start, end);
    if (bytes === 0) return;
    const before = this.upBytes;
    this.upBytes += bytes;
    // Order: the middle sample must carry the level of the caller frame at that audio position.
    const mid = (bytes >> 1) & ~1;
    const posMs = (before + mid) / upBpm;
    const k = Math.floor(posMs / CALLER_FRAME_MS);
    const phase = posMs - k * CALLER_FRAME_MS;
    if (phase >= 15 && phase <= 85) {
      this.orderChecks++;
      const v = b64SampleAt(data, start, mid);
      if (!(Math.abs(v - markerLevel(k)) <= levelTolerance)) this.orderMismatches++;
    }
    // Latency: from when the caller sent the frame that completes this much audio.
    const endMs = this.upBytes / upBpm;
    const done = Math.ceil(endMs / CALLER_FRAME_MS - 1e-6) - 1;
    if (done >= 0 && done < this.nextFrame) {
      const sentAt = this.sendTimes[done] as number;
      if (sentAt >= windowStart && sentAt <= windowEnd) {
        latency.add(now - sentAt);
        if (now - sentAt > SLOW_MS) {
          // Debugging aid (BENCH_SLOW_MS): how many slow frames per half second of the run.
          const bucket = Math.floor((now - t0Global) / 500);
          slowBuckets.set(bucket, (slowBuckets.get(bucket) ?? 0) + 1);
        }
      }
    }
  }

  onAgentConnection(ws: WebSocket, now: number): void {
    this.agent = ws;
    ws.send(agentMetadata(`conv_bench${this.idx}`, spec?.agentFormat ?? "", spec?.agentFormat ?? ""));
    this.agentStartAt = now;
    this.agentStopAt = this.openAt + ((spec?.durationS ?? 0) - (spec?.drainS ?? 0)) * 1000;
    this.nextPingAt = now + AGENT_PING_MS / 2;
  }

  /** Everything due for this call at `now`; returns the worst lateness seen (ms). */
  tick(now: number): number {
    let lag = 0;
    const ws = this.exotel;
    if (ws !== null && this.openAt >= 0 && !this.exotelClosed && !this.stopSent) {
      while (this.nextFrame < framesPerCall) {
        const due = this.openAt + this.nextFrame * CALLER_FRAME_MS;
        if (due > now) break;
        if (now - due > lag) lag = now - due;
        const k = this.nextFrame++;
        this.sendTimes[k] = now;
        // Short varying head + shared precomputed tail, straight into one buffer: no 2 KB string
        // to build, flatten and UTF-8 encode per frame.
        const head = exotelMediaHead(this.streamSid, ++this.seq, k + 1, k * CALLER_FRAME_MS);
        const tail = frameTails[k % MARKER_LEVELS] as Buffer;
        const frame = Buffer.allocUnsafe(head.length + tail.length);
        frame.write(head, 0, "latin1");
        tail.copy(frame, head.length);
        ws.send(frame, TEXT);
      }
      while (this.markEchoes.length > 0 && (this.markEchoes[0] as { at: number }).at <= now) {
        const { name } = this.markEchoes.shift() as { name: string };
        ws.send(exotelMark(this.streamSid, ++this.seq, name));
      }
      if (this.nextFrame >= framesPerCall && now >= this.openAt + framesPerCall * CALLER_FRAME_MS) {
        this.stopSent = true;
        ws.send(exotelStop(this.streamSid, this.callSid, ++this.seq));
        ws.close(1000);
      }
    }
    const agent = this.agent;
    if (agent !== null && !this.agentClosed && this.agentStartAt >= 0) {
      for (;;) {
        const due = this.agentStartAt + this.bursts * AGENT_BURST_MS;
        if (due > now || due >= this.agentStopAt) break;
        this.bursts++;
        agent.send(burstFrame, TEXT);
      }
      if (now >= this.nextPingAt && now < this.agentStopAt) {
        this.nextPingAt += AGENT_PING_MS;
        agent.send(agentPing(++this.pingsSent));
      }
    }
    return lag;
  }
}

const calls: SimCall[] = [];
for (let i = 0; i < spec.calls; i++) calls.push(new SimCall(i));
const bySid = new Map(calls.map((c) => [c.streamSid, c]));

// ---------------------------------------------------------------- the local agent

const agentHttp = http.createServer((_req, res) => {
  res.statusCode = 404;
  res.end();
});
const agentWss = new WebSocketServer({
  server: agentHttp,
  perMessageDeflate: false,
  skipUTF8Validation: true,
  clientTracking: false,
  maxPayload: 16 * 1024 * 1024,
});

agentWss.on("connection", (ws: WebSocket, req: http.IncomingMessage) => {
  if (!req.url?.startsWith("/v1/convai/conversation")) {
    ws.close(1008, "unknown path");
    return;
  }
  let call: SimCall | undefined;
  ws.on("error", (err) => error(`agent socket: ${err.message}`));
  ws.on("close", () => {
    if (call) call.agentClosed = true;
  });
  ws.on("message", (data: Buffer) => {
    const now = performance.now();
    if (call !== undefined) {
      findUserAudio(data, span);
      if (span.start >= 0) {
        call.onUpAudio(data, span.start, span.end, now);
        return;
      }
    }
    let msg: Record<string, unknown>;
    try {
      msg = JSON.parse(data.toString("utf8")) as Record<string, unknown>;
    } catch {
      error("agent received a frame that is not JSON");
      return;
    }
    if (msg.type === "conversation_initiation_client_data") {
      const vars = msg.dynamic_variables as Record<string, unknown> | undefined;
      call = bySid.get(String(vars?.stream_sid));
      if (call === undefined) {
        error(`initiation without a known stream_sid (${String(vars?.stream_sid)})`);
        ws.close(1008);
        return;
      }
      call.onAgentConnection(ws, now);
    } else if (msg.type === "pong") {
      if (call) call.pongs++;
    } else if (typeof msg.user_audio_chunk === "string" && call !== undefined) {
      // Same audio, spelled differently (spacing, key order): measure it the slow way.
      const b = Buffer.from(msg.user_audio_chunk);
      call.onUpAudio(b, 0, b.length, now);
    } else if (call === undefined) {
      error(`agent got ${String(msg.type ?? "a message")} before conversation_initiation_client_data`);
    }
  });
});

// ---------------------------------------------------------------- the run

function send(msg: ChildMessage): void {
  process.send?.(msg);
}

/**
 * The relay's own event-loop delay (p99, max) since the previous read, from prom-client's default
 * metrics (they reset at every scrape); undefined for relays without /metrics.
 */
async function relayLoopDelay(
  metricsUrl: string | undefined,
): Promise<{ p99: number; max: number } | undefined> {
  if (metricsUrl === undefined) return undefined;
  try {
    const text = await (await fetch(metricsUrl)).text();
    const read = (name: string) => {
      const m = new RegExp(
        `^\\w*nodejs_eventloop_lag_${name}_seconds(?:\\{[^}]*\\})? ([0-9.e+-]+)$`,
        "m",
      ).exec(text);
      // Whole timer intervals are recorded: the 10 ms resolution itself is not delay.
      return m ? Math.max(0, Number(m[1]) * 1000 - LOOP_DELAY_RESOLUTION_MS) : Number.NaN;
    };
    return { p99: read("p99"), max: read("max") };
  } catch (err) {
    error(`reading ${metricsUrl}: ${(err as Error).message}`);
    return undefined;
  }
}

function run(url: string, pid: number, metricsUrl: string | undefined): void {
  const idleRss = procRssKiB(pid).rss;
  let peakRss = idleRss;
  const t0 = performance.now();
  t0Global = t0;
  const d = spec?.durationS ?? 0;
  const rampMs = (spec?.rampS ?? 0) * 1000;
  const n = calls.length;
  windowStart = t0 + rampMs + (spec?.settleS ?? 0) * 1000;
  // Provisional; fixed to call 0's real agent stop once it has opened.
  windowEnd = t0 + (d - (spec?.drainS ?? 0)) * 1000;
  let nextConnect = 0;
  let phase = "ramp";
  let cpuAtStart = 0;
  let loadCpuAtStart = 0;
  let cpuAtEnd = 0;
  let loadCpuAtEnd = 0;
  let mainAtStart = 0;
  let mainAtEnd = 0;
  let machineAtStart = { busy: 0, total: 0 };
  let machineAtEnd = { busy: 0, total: 0 };
  let measuredStart = 0;
  let monoStart = 0;
  let monoEnd = 0;
  let measuredEnd = 0;
  let streamingAtStart = 0;
  let streamingAtEnd = 0;
  let maxLag = 0;
  let relayDelay: { p99: number; max: number } | undefined;
  let relayDelayReset = false;
  const loopDelay = monitorEventLoopDelay({ resolution: LOOP_DELAY_RESOLUTION_MS });
  let ticks = 0;
  let lastProgress = 0;
  let finishBy = Number.POSITIVE_INFINITY;
  let callgrindFrom = 0;
  let callgrindTo = 0;
  let callgrindDumped = !spec?.callgrind;

  const loadCpu = (): number => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  };

  const timer = setInterval(() => {
    const now = performance.now();
    ticks++;
    while (nextConnect < n && now >= t0 + (nextConnect * rampMs) / n) {
      (calls[nextConnect++] as SimCall).connect(url);
    }
    const first = calls[0] as SimCall;
    if (phase !== "done" && first.openAt >= 0) windowEnd = first.openAt + (d - (spec?.drainS ?? 0)) * 1000;
    for (let i = 0; i < nextConnect; i++) {
      const lag = (calls[i] as SimCall).tick(now);
      if (lag > maxLag && phase !== "ramp") maxLag = lag;
    }
    if (!relayDelayReset && nextConnect === n && now >= t0 + rampMs) {
      // Reset the relay's loop-delay histogram when the ramp ends, not when the window opens: a
      // scrape blocks the bridge for milliseconds at 500 calls and must not land in the window.
      relayDelayReset = true;
      void relayLoopDelay(metricsUrl);
    }
    if (phase === "ramp" && now >= windowStart) {
      phase = "steady";
      measuredStart = now;
      monoStart = Number(process.hrtime.bigint() / 1000n);
      cpuAtStart = procCpuMs(pid);
      mainAtStart = mainThreadCpuMs(pid);
      machineAtStart = machineCpuMs();
      loadCpuAtStart = loadCpu();
      loopDelay.enable();
      streamingAtStart = calls.filter((c) => c.streaming).length;
      if (spec?.callgrind) callgrindControl("-z", pid, (t) => (callgrindFrom = (now + t) / 2));
    } else if (phase === "steady" && now >= windowEnd) {
      phase = "drain";
      measuredEnd = now;
      monoEnd = Number(process.hrtime.bigint() / 1000n);
      cpuAtEnd = procCpuMs(pid);
      mainAtEnd = mainThreadCpuMs(pid);
      machineAtEnd = machineCpuMs();
      loadCpuAtEnd = loadCpu();
      loopDelay.disable();
      void relayLoopDelay(metricsUrl).then((d) => {
        relayDelay = d;
      });
      streamingAtEnd = calls.filter((c) => c.streaming).length;
      if (spec?.callgrind) {
        callgrindControl("-d", pid, (t) => {
          callgrindTo = (now + t) / 2;
          callgrindDumped = true;
        });
      }
    }
    if ((phase === "ramp" || phase === "steady") && ticks % 10 === 0) {
      try {
        const r = procRssKiB(pid).rss;
        if (r > peakRss) peakRss = r;
      } catch {
        // The relay died; the end of the run reports it.
      }
    }
    const allClosed =
      nextConnect === n && calls.every((c) => c.exotelClosed && (c.agent === null || c.agentClosed));
    if (phase === "drain" && calls.every((c) => c.stopSent || c.exotelClosed)) {
      phase = "closing";
      finishBy = now + 5000;
    }
    if (now - lastProgress >= 500) {
      lastProgress = now;
      send({
        type: "progress",
        phase,
        t: (now - t0) / 1000,
        connected: calls.filter((c) => c.openAt >= 0).length,
        streaming: calls.filter((c) => c.streaming).length,
        closed: calls.filter((c) => c.exotelClosed).length,
      });
    }
    if (
      (phase === "closing" && callgrindDumped && (allClosed || now >= finishBy)) ||
      now - t0 > (d + 120) * 1000
    ) {
      clearInterval(timer);
      if (slowBuckets.size > 0) {
        const counts = [...slowBuckets].sort((a, b) => a[0] - b[0]).map(([b, c]) => `${b / 2}s:${c}`);
        process.stderr.write(
          `frames slower than ${SLOW_MS} ms, by half second of the run: ${counts.join(" ")}\n`,
        );
      }
      if (measuredEnd === 0) error("the run ended before the measured window closed");
      const seconds = (measuredEnd - measuredStart) / 1000;
      send({
        type: "result",
        result: summarise({
          seconds,
          monotonicUs: [monoStart, monoEnd],
          streamingAtStart,
          streamingAtEnd,
          serverCpu: cpuAtEnd - cpuAtStart,
          serverMainCpu: mainAtEnd - mainAtStart,
          machineBusy: machineAtEnd.busy - machineAtStart.busy,
          loadCpu: loadCpuAtEnd - loadCpuAtStart,
          idleRss,
          peakRss,
          maxLag,
          // The histogram records whole timer intervals: the resolution itself is not delay.
          loopDelayP99: Math.max(0, loopDelay.percentile(99) / 1e6 - LOOP_DELAY_RESOLUTION_MS),
          loopDelayMax: Math.max(0, loopDelay.max / 1e6 - LOOP_DELAY_RESOLUTION_MS),
          relayDelay,
          callgrindSeconds: spec?.callgrind ? (callgrindTo - callgrindFrom) / 1000 : 0,
        }),
      });
      agentWss.close();
      agentHttp.close();
      setTimeout(() => process.exit(0), 200).unref();
    }
  }, spec?.tickMs ?? 5);
}

/**
 * Runs callgrind_control on the relay; `done` gets the time the command was acknowledged. The
 * relay acts on it somewhere between request and acknowledgement (~0.1 s): callers take the middle.
 */
function callgrindControl(flag: "-z" | "-d", pid: number, done: (t: number) => void): void {
  execFile("callgrind_control", [flag, String(pid)], (err) => {
    if (err) error(`callgrind_control ${flag}: ${err.message}`);
    done(performance.now());
  });
}

function summarise(m: {
  seconds: number;
  monotonicUs: [number, number];
  streamingAtStart: number;
  streamingAtEnd: number;
  serverCpu: number;
  serverMainCpu: number;
  machineBusy: number;
  loadCpu: number;
  idleRss: number;
  peakRss: number;
  maxLag: number;
  loopDelayP99: number;
  loopDelayMax: number;
  relayDelay: { p99: number; max: number } | undefined;
  callgrindSeconds: number;
}): LoadResult {
  const n = calls.length;
  const callSeconds = n * m.seconds;
  let framesSent = 0;
  let upRecvMs = 0;
  let lostMs = 0;
  let framesLost = 0;
  let callsWithLoss = 0;
  let orderChecks = 0;
  let orderMismatches = 0;
  let agentSentMs = 0;
  let downRecvMs = 0;
  let padMs = 0;
  let frames = 0;
  let violations = 0;
  let maxLead = 0;
  let marks = 0;
  let clears = 0;
  let pings = 0;
  let pongs = 0;
  let ok = 0;
  for (const c of calls) {
    framesSent += c.nextFrame;
    const recv = c.upBytes / upBpm;
    upRecvMs += recv;
    const lost = c.nextFrame * CALLER_FRAME_MS - recv;
    if (lost > LOSS_TOLERANCE_MS) {
      lostMs += lost;
      framesLost += Math.ceil((lost - LOSS_TOLERANCE_MS) / CALLER_FRAME_MS);
      callsWithLoss++;
    }
    orderChecks += c.orderChecks;
    orderMismatches += c.orderMismatches;
    agentSentMs += (c.bursts * burstBytes) / bytesPerMs(agentRate);
    downRecvMs += c.downBytes / downBpm;
    padMs += c.padBytes / downBpm;
    frames += c.downFrames;
    violations += c.violations;
    if (c.maxLead > maxLead) maxLead = c.maxLead;
    marks += c.marks;
    clears += c.clears;
    pings += c.pingsSent;
    pongs += c.pongs;
    if (c.stopSent && c.nextFrame === framesPerCall && c.agentStartAt >= 0) ok++;
  }
  const deliveredMs = downRecvMs - padMs;
  const r3 = (x: number) => Math.round(x * 1000) / 1000;
  return {
    relay: spec?.relay ?? "bridge",
    calls: n,
    window: {
      seconds: r3(m.seconds),
      callsStreamingAtStart: m.streamingAtStart,
      callsStreamingAtEnd: m.streamingAtEnd,
      monotonicUs: m.monotonicUs,
    },
    server: {
      cpuMs: m.serverCpu,
      cpuMsPerCallS: r3(m.serverCpu / callSeconds),
      mainThreadCpuMs: m.serverMainCpu,
      loopDelayP99Ms: m.relayDelay ? r3(m.relayDelay.p99) : null,
      loopDelayMaxMs: m.relayDelay ? r3(m.relayDelay.max) : null,
      idleRssKiB: m.idleRss,
      peakRssKiB: m.peakRss,
      rssPerCallKiB: r3((m.peakRss - m.idleRss) / n),
    },
    load: {
      cpuMs: r3(m.loadCpu),
      cpuMsPerCallS: r3(m.loadCpu / callSeconds),
      maxTickLagMs: r3(m.maxLag),
      loopDelayP99Ms: r3(m.loopDelayP99),
      loopDelayMaxMs: r3(m.loopDelayMax),
    },
    machine: {
      busyCores: r3(m.machineBusy / 1000 / m.seconds),
      otherCores: r3(Math.max(0, m.machineBusy - m.serverCpu - m.loadCpu) / 1000 / m.seconds),
    },
    latency: {
      count: latency.count,
      p50: r3(latency.quantile(0.5)),
      p99: r3(latency.quantile(0.99)),
      max: r3(latency.max),
      mean: r3(latency.count ? latency.sum / latency.count : 0),
    },
    up: {
      framesSent,
      sentMs: framesSent * CALLER_FRAME_MS,
      receivedMs: r3(upRecvMs),
      lostMs: r3(lostMs),
      framesLost,
      orderChecks,
      orderMismatches,
      callsWithLoss,
    },
    down: {
      agentSentMs: r3(agentSentMs),
      receivedMs: r3(downRecvMs),
      paddingMs: r3(padMs),
      deliveredMs: r3(deliveredMs),
      delivery: agentSentMs > 0 ? Math.round((deliveredMs / agentSentMs) * 1e5) / 1e5 : 0,
      frames,
      violations,
      maxLeadMs: r3(maxLead),
      marks,
      clears,
    },
    pings: { sent: pings, pongs },
    callgrindSeconds: r3(m.callgrindSeconds),
    callsOk: ok,
    errors,
  };
}

process.on("message", (msg: ParentMessage) => {
  if (msg.type === "go") run(msg.url, msg.pid, msg.metricsUrl);
});
process.on("disconnect", () => process.exit(0));
// A clean exit (not death by signal), so --cpu-prof can write its profile.
process.on("SIGTERM", () => process.exit(0));
process.on("uncaughtException", (err) => {
  send({ type: "fatal", message: err.stack ?? err.message });
  process.exit(1);
});

agentHttp.listen(0, "127.0.0.1", () => {
  send({ type: "ready", agentPort: (agentHttp.address() as AddressInfo).port });
});
