// The log-based metrics the stack creates, as data. Each one is derived from a record the bridge
// logs (pino JSON on stdout; Cloud Run puts its fields under jsonPayload.*), so that a chart or an
// alert never needs the bridge's /metrics endpoint to be scraped. Filters are rendered from
// structured conditions so that tests can check every condition and every extracted field against
// lines the app really writes (infra/test/monitoring-fields.test.ts).

/** Records the metrics read, by their `event` field. */
export const LOGGED_EVENTS = [
  "call_summary",
  "call_analysis",
  "post_call_webhook_refused",
  "upgrade_refused",
] as const;
export type LoggedEvent = (typeof LOGGED_EVENTS)[number];

/** A condition on one jsonPayload field (dotted path below jsonPayload). */
export type FieldCondition =
  | { readonly field: string; readonly equals: string }
  | { readonly field: string; readonly oneOf: readonly string[] }
  | { readonly field: string; readonly present: true };

export interface LogMetricSpec {
  /** Short id; the metric is `<serviceName>/<id>`, its type `logging.googleapis.com/user/<serviceName>/<id>`. */
  readonly id: string;
  readonly description: string;
  readonly event: LoggedEvent;
  readonly where?: readonly FieldCondition[];
  /** Metric label -> jsonPayload field it is extracted from. */
  readonly labels?: Readonly<Record<string, { readonly field: string; readonly description: string }>>;
  /** Present for a distribution: the field whose value each matching entry adds. */
  readonly value?: {
    readonly field: string;
    readonly unit: string;
    readonly buckets:
      | { readonly exponential: { numFiniteBuckets: number; growthFactor: number; scale: number } }
      | { readonly linear: { numFiniteBuckets: number; width: number; offset: number } };
  };
}

/** 25 ms .. ~60 s in 24 steps of x1.4: fine below a second, where voice latency matters. */
const LATENCY_BUCKETS = { exponential: { numFiniteBuckets: 24, growthFactor: 1.4, scale: 25 } } as const;

export const CALL_METRICS: readonly LogMetricSpec[] = [
  {
    id: "calls",
    description: "Finished calls (one call_summary each), by end reason and who ended them",
    event: "call_summary",
    labels: {
      end_reason: { field: "end_reason", description: "How the call ended (README: end reasons)" },
      ended_by: { field: "ended_by", description: "caller, agent or bridge" },
    },
  },
  {
    id: "time_to_first_audio",
    description: "From Exotel's start event to the first agent audio sent to the caller (ms)",
    event: "call_summary",
    where: [{ field: "time_to_first_audio_ms", present: true }],
    value: { field: "time_to_first_audio_ms", unit: "ms", buckets: LATENCY_BUCKETS },
  },
  {
    id: "response_latency",
    description:
      "Per call, the average time from the caller's final transcript to the agent's reply audio (ms)",
    event: "call_summary",
    where: [{ field: "response_latency_ms.avg", present: true }],
    value: { field: "response_latency_ms.avg", unit: "ms", buckets: LATENCY_BUCKETS },
  },
  {
    id: "agent_connect_failures",
    description: "Calls that ended because the agent could not be reached, by failure type",
    event: "call_summary",
    where: [{ field: "end_reason", oneOf: ["agent_connect_failed", "agent_timeout"] }],
    labels: {
      type: {
        field: "agent_error.type",
        description:
          "auth, agent_not_found, rate_limited, upstream, bad_response, bad_signed_url, timeout, network, handshake",
      },
    },
  },
  {
    id: "transfers",
    description: "Calls the agent handed to a human (end reason agent_transfer)",
    event: "call_summary",
    where: [{ field: "end_reason", equals: "agent_transfer" }],
  },
  {
    id: "interruptions",
    description: "Barge-ins per call (the caller talking over the agent)",
    event: "call_summary",
    value: {
      field: "interruptions",
      unit: "1",
      buckets: { linear: { numFiniteBuckets: 20, width: 1, offset: 0 } },
    },
  },
  {
    id: "call_duration",
    description: "Call length in seconds",
    event: "call_summary",
    value: {
      field: "duration_s",
      unit: "s",
      buckets: { exponential: { numFiniteBuckets: 20, growthFactor: 1.6, scale: 1 } },
    },
  },
  {
    id: "call_analyses",
    description: "ElevenLabs post-call analyses received, by the agent's success verdict",
    event: "call_analysis",
    labels: { call_successful: { field: "call_successful", description: "success, failure or unknown" } },
  },
  {
    id: "webhook_refusals",
    description: "Post-call webhooks refused (bad or stale signature, too large, malformed)",
    event: "post_call_webhook_refused",
    labels: { reason: { field: "reason", description: "Why the delivery was refused" } },
  },
  {
    id: "upgrades_refused",
    description: "Exotel stream upgrades refused before a call started, by HTTP status",
    event: "upgrade_refused",
    labels: { status: { field: "status", description: "401, 403, 503..." } },
  },
];

/** Metric name (`LogMetric.name`) of a spec for one service. */
export function metricName(serviceName: string, spec: Pick<LogMetricSpec, "id">): string {
  return `${serviceName}/${spec.id}`;
}

/** Cloud Monitoring metric type of a spec for one service. */
export function metricType(serviceName: string, spec: Pick<LogMetricSpec, "id">): string {
  return `logging.googleapis.com/user/${metricName(serviceName, spec)}`;
}

/** The service's log entries: what every metric, the sink and the exclusion start from. */
export function serviceSelector(serviceName: string): string {
  if (!/^[a-z0-9-]+$/.test(serviceName)) throw new Error(`unexpected service name ${serviceName}`);
  return `resource.type="cloud_run_revision" AND resource.labels.service_name="${serviceName}"`;
}

function quote(value: string): string {
  if (!/^[A-Za-z0-9_.-]+$/.test(value)) throw new Error(`unexpected filter value ${value}`);
  return `"${value}"`;
}

function fieldPath(field: string): string {
  if (!/^[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)*$/.test(field)) throw new Error(`unexpected field ${field}`);
  return `jsonPayload.${field}`;
}

export function renderCondition(c: FieldCondition): string {
  const path = fieldPath(c.field);
  if ("equals" in c) return `${path}=${quote(c.equals)}`;
  if ("oneOf" in c) return `${path}=(${c.oneOf.map(quote).join(" OR ")})`;
  return `${path}:*`;
}

/** The Cloud Logging filter of a metric. */
export function metricFilter(serviceName: string, spec: LogMetricSpec): string {
  return [
    serviceSelector(serviceName),
    renderCondition({ field: "event", equals: spec.event }),
    ...(spec.where ?? []).map(renderCondition),
  ].join(" AND ");
}

/** `EXTRACT(jsonPayload.<field>)`, the extractor syntax of log-based metrics. */
export function extractor(field: string): string {
  return `EXTRACT(${fieldPath(field)})`;
}

/** Looks a spec up by id (for the dashboard and alerts). */
export function spec(id: string): LogMetricSpec {
  const found = CALL_METRICS.find((m) => m.id === id);
  if (found === undefined) throw new Error(`no metric ${id}`);
  return found;
}
