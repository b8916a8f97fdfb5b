/**
 * Prometheus metrics (prom-client) on a registry per bridge instance, so tests can run several
 * bridges in one process. Per-frame counters are plain accumulators (`HotCounter`) that their
 * prom-client counter folds in when scraped: a prom-client `.labels(...).inc()` hashes and
 * validates the label set and allocates a result on every call, even on a bound child, and these
 * run several times per audio frame.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

const LATENCY_BUCKETS = [0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3, 5, 8, 13];

/** A per-frame counter: adds to a number; the owning Counter collects it at scrape time. */
export class HotCounter {
  private pending = 0;

  inc(value = 1): void {
    this.pending += value;
  }

  /** Moves what accumulated since the last scrape into `counter` under `label`. */
  flushInto(counter: Counter<"direction">, label: string): void {
    // A series appears only once something was counted, as it did with direct .inc() calls.
    if (this.pending === 0) return;
    counter.labels(label).inc(this.pending);
    this.pending = 0;
  }
}

export function createMetrics(options: { defaultMetrics?: boolean } = {}) {
  const registry = new Registry();
  if (options.defaultMetrics !== false)
    collectDefaultMetrics({ register: registry, prefix: "exotel_bridge_" });
  const mk = { registers: [registry] };

  const activeCalls = new Gauge({ name: "exotel_bridge_active_calls", help: "Calls in progress", ...mk });
  const callsStarted = new Counter({
    name: "exotel_bridge_calls_started_total",
    help: "Exotel streams accepted",
    ...mk,
  });
  const callsEnded = new Counter({
    name: "exotel_bridge_calls_ended_total",
    help: "Calls ended, by end reason and who ended them",
    labelNames: ["reason", "ended_by"] as const,
    ...mk,
  });
  const upgradesRefused = new Counter({
    name: "exotel_bridge_upgrades_refused_total",
    help: "WebSocket upgrades refused before a call started, by HTTP status",
    labelNames: ["status"] as const,
    ...mk,
  });
  const setupSeconds = new Histogram({
    name: "exotel_bridge_call_setup_seconds",
    help: "From the Exotel socket opening to the agent conversation starting (metadata received)",
    buckets: LATENCY_BUCKETS,
    ...mk,
  });
  const firstAudioSeconds = new Histogram({
    name: "exotel_bridge_time_to_first_audio_seconds",
    help: "From the Exotel start event to the first agent audio sent to Exotel",
    buckets: LATENCY_BUCKETS,
    ...mk,
  });
  const responseLatencySeconds = new Histogram({
    name: "exotel_bridge_response_latency_seconds",
    help: "Response latency as the caller hears it: from the end of the caller's speech to the first audio of the agent's reply sent to Exotel",
    buckets: LATENCY_BUCKETS,
    ...mk,
  });
  const interruptions = new Counter({ name: "exotel_bridge_interruptions_total", help: "Barge-ins", ...mk });
  const framesUp = new HotCounter();
  const framesDown = new HotCounter();
  const audioSecondsUp = new HotCounter();
  const audioSecondsDown = new HotCounter();
  new Counter({
    name: "exotel_bridge_frames_total",
    help: "Audio frames relayed, by direction",
    labelNames: ["direction"] as const,
    collect() {
      framesUp.flushInto(this, "caller_to_agent");
      framesDown.flushInto(this, "agent_to_caller");
    },
    ...mk,
  });
  new Counter({
    name: "exotel_bridge_audio_seconds_total",
    help: "Seconds of audio relayed, by direction",
    labelNames: ["direction"] as const,
    collect() {
      audioSecondsUp.flushInto(this, "caller_to_agent");
      audioSecondsDown.flushInto(this, "agent_to_caller");
    },
    ...mk,
  });
  const agentErrors = new Counter({
    name: "exotel_bridge_agent_errors_total",
    help: "Agent-side failures, by type (connect failures, error events, error closes)",
    labelNames: ["type"] as const,
    ...mk,
  });
  const agentConnectRetries = new Counter({
    name: "exotel_bridge_agent_connect_retries_total",
    help: "Agent connections retried after a transient failure, before the caller heard anything",
    ...mk,
  });
  const badFrames = new Counter({
    name: "exotel_bridge_bad_frames_total",
    help: "Frames that could not be parsed, by source and error code",
    labelNames: ["source", "code"] as const,
    ...mk,
  });
  const dtmfDigits = new Counter({
    name: "exotel_bridge_dtmf_digits_total",
    help: "DTMF digits received",
    ...mk,
  });
  const agentPingMs = new Histogram({
    name: "exotel_bridge_agent_ping_ms",
    help: "Round-trip time the agent service reports in its pings",
    buckets: [10, 25, 50, 100, 200, 400, 800, 1600],
    ...mk,
  });

  return {
    registry,
    activeCalls,
    callsStarted,
    callsEnded,
    upgradesRefused,
    setupSeconds,
    firstAudioSeconds,
    responseLatencySeconds,
    interruptions,
    agentErrors,
    agentConnectRetries,
    badFrames,
    dtmfDigits,
    agentPingMs,
    // Per-frame counters (see HotCounter).
    framesUp,
    framesDown,
    audioSecondsUp,
    audioSecondsDown,
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
