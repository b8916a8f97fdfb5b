// What an operator watches: log-based metrics from the bridge's own records (call_summary,
// call_analysis, webhook and upgrade refusals), one dashboard with those and Cloud Run's metrics,
// and alert policies that notify an email channel from stack config. The metric and dashboard
// definitions live in ../lib as data; this component only turns them into resources.
import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import { type AlertThresholds, alertSpecs } from "../lib/alerts";
import { CALL_METRICS, extractor, metricFilter, metricName, metricType } from "../lib/call-metrics";
import { dashboardJson } from "../lib/dashboard";

export interface MonitoringArgs {
  project: string;
  serviceName: string;
  /** Where alerts are emailed; unset = policies open incidents in the console only. */
  alertEmail?: string;
  thresholds: AlertThresholds;
  labels: Record<string, string>;
}

export class Monitoring extends pulumi.ComponentResource {
  /** Cloud Monitoring metric types, by spec id. */
  readonly metricTypes: Readonly<Record<string, string>>;
  readonly dashboardUrl: pulumi.Output<string>;
  readonly alertPolicyNames: pulumi.Output<string>[];

  constructor(name: string, args: MonitoringArgs, opts?: pulumi.ComponentResourceOptions) {
    super("exotel-bridge:infra:Monitoring", name, {}, opts);
    const metrics = CALL_METRICS.map((m) => {
      const labels = Object.entries(m.labels ?? {});
      return new gcp.logging.Metric(
        `${name}-${m.id}`,
        {
          project: args.project,
          name: metricName(args.serviceName, m),
          description: m.description,
          filter: metricFilter(args.serviceName, m),
          metricDescriptor: {
            metricKind: "DELTA",
            valueType: m.value ? "DISTRIBUTION" : "INT64",
            unit: m.value?.unit ?? "1",
            displayName: `${args.serviceName} ${m.id.replace(/_/g, " ")}`,
            labels: labels.map(([key, l]) => ({ key, valueType: "STRING", description: l.description })),
          },
          ...(labels.length > 0 && {
            labelExtractors: Object.fromEntries(labels.map(([key, l]) => [key, extractor(l.field)])),
          }),
          ...(m.value && {
            valueExtractor: extractor(m.value.field),
            bucketOptions:
              "exponential" in m.value.buckets
                ? { exponentialBuckets: m.value.buckets.exponential }
                : { linearBuckets: m.value.buckets.linear },
          }),
        },
        { parent: this },
      );
    });
    this.metricTypes = Object.fromEntries(CALL_METRICS.map((m) => [m.id, metricType(args.serviceName, m)]));

    // Charts and alerts name the metrics by type: they must exist first.
    const afterMetrics = { parent: this, dependsOn: metrics };
    const dashboard = new gcp.monitoring.Dashboard(
      `${name}-dashboard`,
      {
        project: args.project,
        dashboardJson: dashboardJson(args.serviceName, `exotel-bridge ${args.serviceName}`),
      },
      afterMetrics,
    );
    this.dashboardUrl = dashboard.id.apply(
      (id) =>
        `https://console.cloud.google.com/monitoring/dashboards/builder/${id.split("/").pop()}?project=${args.project}`,
    );

    const channel =
      args.alertEmail !== undefined
        ? new gcp.monitoring.NotificationChannel(
            `${name}-email`,
            {
              project: args.project,
              type: "email",
              displayName: `exotel-bridge ${args.serviceName} alerts`,
              labels: { email_address: args.alertEmail },
              userLabels: args.labels,
            },
            { parent: this },
          )
        : undefined;

    this.alertPolicyNames = alertSpecs(args.serviceName, args.thresholds).map(
      (a) =>
        new gcp.monitoring.AlertPolicy(
          `${name}-alert-${a.id}`,
          {
            project: args.project,
            displayName: a.displayName,
            combiner: "OR",
            severity: a.severity,
            conditions: [a.condition],
            documentation: { content: a.documentation, mimeType: "text/markdown" },
            notificationChannels: channel ? [channel.name] : [],
            // An incident whose metric stops reporting (no calls at night) closes itself after a day.
            alertStrategy: { autoClose: "86400s" },
            userLabels: args.labels,
          },
          afterMetrics,
        ).name,
    );
    this.registerOutputs({ dashboardUrl: this.dashboardUrl });
  }
}
