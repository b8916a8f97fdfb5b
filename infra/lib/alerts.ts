// Alert policies as data (the inputs of gcp.monitoring.AlertPolicy minus the notification
// channels), built from the metric specs and the thresholds in stack config. Threshold conditions
// only: they are the documented, non-deprecated condition type, and a ratio of two log-based
// counters is a threshold condition with a denominator.
import type * as gcp from "@pulumi/gcp";
import { metricType, spec } from "./call-metrics";

export interface AlertThresholds {
  /** Agent connect failures as a share of finished calls over 10 minutes, in percent. */
  readonly connectFailurePercent: number;
  /** agent_error + internal_error endings within 5 minutes. */
  readonly errorEndings: number;
  /** p99 container CPU utilization sustained 5 minutes, in percent of the limit. */
  readonly cpuPercent: number;
  /** p99 container memory utilization sustained 5 minutes, in percent of the limit. */
  readonly memoryPercent: number;
}

export interface AlertSpec {
  readonly id: string;
  readonly displayName: string;
  readonly severity: "CRITICAL" | "ERROR" | "WARNING";
  readonly documentation: string;
  readonly condition: {
    readonly displayName: string;
    readonly conditionThreshold: gcp.types.input.monitoring.AlertPolicyConditionConditionThreshold;
  };
}

const sumOver = (period: string) => [
  {
    alignmentPeriod: period,
    perSeriesAligner: "ALIGN_DELTA",
    crossSeriesReducer: "REDUCE_SUM",
    groupByFields: [],
  },
];

const p99Over = (period: string) => [
  {
    alignmentPeriod: period,
    perSeriesAligner: "ALIGN_PERCENTILE_99",
    crossSeriesReducer: "REDUCE_MAX",
    groupByFields: [],
  },
];

function user(serviceName: string, id: string): string {
  return `metric.type="${metricType(serviceName, spec(id))}" AND resource.type="cloud_run_revision"`;
}

function run(serviceName: string, type: string): string {
  return `metric.type="run.googleapis.com/${type}" AND resource.type="cloud_run_revision" AND resource.label.service_name="${serviceName}"`;
}

export function alertSpecs(serviceName: string, t: AlertThresholds): AlertSpec[] {
  return [
    {
      id: "agent-connect-failures",
      displayName: `${serviceName}: agent connect failures above ${t.connectFailurePercent}% of calls`,
      severity: "CRITICAL",
      documentation:
        "Callers are not reaching the ElevenLabs agent. The dashboard's 'Agent connect failures by type' " +
        "chart says why: auth (API key), agent_not_found (agent id), rate_limited (concurrency limit), " +
        "upstream/network/timeout (ElevenLabs or the path to it). See docs/operations.md.",
      condition: {
        displayName: "connect failures / calls, 10 min",
        conditionThreshold: {
          filter: user(serviceName, "agent_connect_failures"),
          aggregations: sumOver("600s"),
          denominatorFilter: user(serviceName, "calls"),
          denominatorAggregations: sumOver("600s"),
          comparison: "COMPARISON_GT",
          thresholdValue: t.connectFailurePercent / 100,
          duration: "0s",
          trigger: { count: 1 },
        },
      },
    },
    {
      id: "error-endings",
      displayName: `${serviceName}: more than ${t.errorEndings} agent_error/internal_error endings in 5 min`,
      severity: "ERROR",
      documentation:
        "Calls are ending on errors: agent_error (the agent closed with an error) or internal_error (a bridge " +
        "bug). Read the call summaries in the call-log bucket (docs/operations.md) for agent_error and end_detail.",
      condition: {
        displayName: "error endings, 5 min",
        conditionThreshold: {
          filter: `${user(serviceName, "calls")} AND metric.label.end_reason=one_of("agent_error", "internal_error")`,
          aggregations: sumOver("300s"),
          comparison: "COMPARISON_GT",
          thresholdValue: t.errorEndings,
          duration: "0s",
          trigger: { count: 1 },
        },
      },
    },
    {
      id: "cpu",
      displayName: `${serviceName}: instance CPU above ${t.cpuPercent}% for 5 min`,
      severity: "WARNING",
      documentation:
        "An instance is near its CPU limit: real-time audio pacing suffers before anything fails. Lower " +
        "`concurrency` or raise `cpu` / `maxInstances` in stack config.",
      condition: {
        displayName: "p99 CPU utilization",
        conditionThreshold: {
          filter: run(serviceName, "container/cpu/utilizations"),
          aggregations: p99Over("300s"),
          comparison: "COMPARISON_GT",
          thresholdValue: t.cpuPercent / 100,
          duration: "300s",
          trigger: { count: 1 },
        },
      },
    },
    {
      id: "memory",
      displayName: `${serviceName}: instance memory above ${t.memoryPercent}% for 5 min`,
      severity: "WARNING",
      documentation:
        "An instance is near its memory limit; Cloud Run kills it (and its calls) when it is exceeded. " +
        "Raise `memory` or lower `concurrency` in stack config.",
      condition: {
        displayName: "p99 memory utilization",
        conditionThreshold: {
          filter: run(serviceName, "container/memory/utilizations"),
          aggregations: p99Over("300s"),
          comparison: "COMPARISON_GT",
          thresholdValue: t.memoryPercent / 100,
          duration: "300s",
          trigger: { count: 1 },
        },
      },
    },
  ];
}
