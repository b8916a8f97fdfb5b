// The Cloud Monitoring dashboard, as the JSON body the Dashboards API takes (mosaicLayout: a
// 48-column grid of tiles). Pure: built from the metric specs and the service name, so tests can
// check its shape and that every chart names a metric that exists.
import { metricType, spec } from "./call-metrics";

/** Width of a mosaicLayout grid. */
export const GRID_COLUMNS = 48;
const TILE_W = 24;
const TILE_H = 16;

interface Aggregation {
  alignmentPeriod: string;
  perSeriesAligner: string;
  crossSeriesReducer?: string;
  groupByFields?: string[];
}

interface DataSet {
  timeSeriesQuery: Record<string, unknown>;
  plotType: "LINE" | "STACKED_BAR" | "STACKED_AREA";
  legendTemplate?: string;
  targetAxis?: "Y1";
}

type Widget = { title: string } & Record<string, unknown>;

function series(filter: string, aggregation: Aggregation): Record<string, unknown> {
  return { timeSeriesFilter: { filter, aggregation } };
}

function chart(title: string, dataSets: DataSet[], yLabel: string): Widget {
  return { title, xyChart: { dataSets, yAxis: { label: yLabel, scale: "LINEAR" }, timeshiftDuration: "0s" } };
}

/** Filters a user (log-based) metric; resource type cloud_run_revision is where Cloud Run logs land. */
function userMetric(serviceName: string, id: string, extra = ""): string {
  const base = `metric.type="${metricType(serviceName, spec(id))}" AND resource.type="cloud_run_revision"`;
  return extra === "" ? base : `${base} AND ${extra}`;
}

/** Filters one of Cloud Run's own metrics for this service. */
function runMetric(serviceName: string, type: string): string {
  return `metric.type="run.googleapis.com/${type}" AND resource.type="cloud_run_revision" AND resource.label.service_name="${serviceName}"`;
}

const counted = (groupBy: string[] = []): Aggregation => ({
  alignmentPeriod: "300s",
  perSeriesAligner: "ALIGN_DELTA",
  crossSeriesReducer: "REDUCE_SUM",
  groupByFields: groupBy,
});

const percentile = (p: 50 | 95 | 99): Aggregation => ({
  alignmentPeriod: "300s",
  perSeriesAligner: "ALIGN_DELTA",
  crossSeriesReducer: `REDUCE_PERCENTILE_${p}`,
  groupByFields: [],
});

function percentiles(filter: string): DataSet[] {
  return ([50, 95] as const).map((p) => ({
    timeSeriesQuery: series(filter, percentile(p)),
    plotType: "LINE",
    legendTemplate: `p${p}`,
  }));
}

export function dashboardWidgets(serviceName: string): Widget[] {
  const calls = userMetric(serviceName, "calls");
  const analyses = userMetric(serviceName, "call_analyses");
  return [
    chart(
      "Calls by end reason (per 5 min)",
      [{ timeSeriesQuery: series(calls, counted(["metric.label.end_reason"])), plotType: "STACKED_BAR" }],
      "calls",
    ),
    chart("Time to first audio (ms)", percentiles(userMetric(serviceName, "time_to_first_audio")), "ms"),
    chart(
      "Agent response latency, per-call average (ms)",
      percentiles(userMetric(serviceName, "response_latency")),
      "ms",
    ),
    chart(
      "Agent connect failures by type (per 5 min)",
      [
        {
          timeSeriesQuery: series(
            userMetric(serviceName, "agent_connect_failures"),
            counted(["metric.label.type"]),
          ),
          plotType: "STACKED_BAR",
        },
      ],
      "calls",
    ),
    chart(
      "Transfers to a human (per 5 min)",
      [{ timeSeriesQuery: series(userMetric(serviceName, "transfers"), counted()), plotType: "STACKED_BAR" }],
      "calls",
    ),
    chart("Interruptions per call", percentiles(userMetric(serviceName, "interruptions")), "barge-ins"),
    chart(
      "Agent success rate (ElevenLabs post-call analysis)",
      [
        {
          timeSeriesQuery: {
            timeSeriesFilterRatio: {
              numerator: {
                filter: `${analyses} AND metric.label.call_successful="success"`,
                aggregation: counted(),
              },
              denominator: { filter: analyses, aggregation: counted() },
            },
          },
          plotType: "LINE",
          legendTemplate: "success / analysed",
        },
      ],
      "ratio",
    ),
    chart(
      "Post-call webhooks refused, by reason",
      [
        {
          timeSeriesQuery: series(
            userMetric(serviceName, "webhook_refusals"),
            counted(["metric.label.reason"]),
          ),
          plotType: "STACKED_BAR",
        },
      ],
      "requests",
    ),
    chart(
      "Instances",
      [
        {
          timeSeriesQuery: series(runMetric(serviceName, "container/instance_count"), {
            alignmentPeriod: "60s",
            perSeriesAligner: "ALIGN_MAX",
            crossSeriesReducer: "REDUCE_SUM",
            groupByFields: ["metric.label.state"],
          }),
          plotType: "STACKED_AREA",
        },
      ],
      "instances",
    ),
    chart(
      "Concurrent requests (calls) per instance",
      percentiles(runMetric(serviceName, "container/max_request_concurrencies")),
      "requests",
    ),
    chart(
      "CPU utilization (p99 across instances)",
      [
        {
          timeSeriesQuery: series(runMetric(serviceName, "container/cpu/utilizations"), percentile(99)),
          plotType: "LINE",
        },
      ],
      "fraction of limit",
    ),
    chart(
      "Memory utilization (p99 across instances)",
      [
        {
          timeSeriesQuery: series(runMetric(serviceName, "container/memory/utilizations"), percentile(99)),
          plotType: "LINE",
        },
      ],
      "fraction of limit",
    ),
    chart(
      "Requests by response class (4xx, 5xx...)",
      [
        {
          timeSeriesQuery: series(runMetric(serviceName, "request_count"), {
            alignmentPeriod: "60s",
            perSeriesAligner: "ALIGN_RATE",
            crossSeriesReducer: "REDUCE_SUM",
            groupByFields: ["metric.label.response_code_class"],
          }),
          plotType: "STACKED_BAR",
        },
      ],
      "requests/s",
    ),
    chart(
      "Exotel upgrades refused, by status",
      [
        {
          timeSeriesQuery: series(
            userMetric(serviceName, "upgrades_refused"),
            counted(["metric.label.status"]),
          ),
          plotType: "STACKED_BAR",
        },
      ],
      "upgrades",
    ),
    chart("Call duration (s)", percentiles(userMetric(serviceName, "call_duration")), "s"),
  ];
}

/** The dashboard body: two tiles per row on the 48-column grid. */
export function dashboardJson(serviceName: string, displayName: string): string {
  const tiles = dashboardWidgets(serviceName).map((widget, i) => ({
    xPos: (i % 2) * TILE_W,
    yPos: Math.floor(i / 2) * TILE_H,
    width: TILE_W,
    height: TILE_H,
    widget,
  }));
  return JSON.stringify({ displayName, mosaicLayout: { columns: GRID_COLUMNS, tiles } });
}
