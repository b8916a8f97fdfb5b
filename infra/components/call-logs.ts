// Where call records go: a log sink that routes the service's logs (by default just the per-call
// `call_summary` records) into a dedicated Cloud Logging bucket with its own retention, queryable
// in Logs Explorer and, with Log Analytics, in SQL. The bucket is in the sink's own project, and
// for that destination Google gives the sink no writer identity (LogSink.writerIdentity is empty)
// and needs no grant: an IAM member made from that empty identity is what Google refuses with
// 400 "Policy members must be of the form <type>:<value>". So there is no grant here.
import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import type { LogRouting } from "../config";
import { callRecordsFilter, serviceLogFilter } from "../lib/log-filter";

export interface CallLogsArgs {
  project: string;
  /** Bucket location; the deploy region keeps call records in-country. */
  location: string;
  bucketId: string;
  sinkName: string;
  /** Cloud Run service whose logs are routed. */
  serviceName: string;
  routing: LogRouting;
  retentionDays: number;
  analytics: boolean;
  /** BigQuery dataset id linked to the bucket (needs `analytics`); unset = no linked dataset. */
  linkedDatasetId?: string;
  /** Keep call records out of the project's _Default bucket, so they are stored once. */
  excludeFromDefault?: boolean;
}

export class CallLogs extends pulumi.ComponentResource {
  /** Full bucket resource name, `projects/.../locations/.../buckets/...`. */
  readonly bucketName: pulumi.Output<string>;
  /** The sink's destination, `logging.googleapis.com/projects/.../buckets/...`. */
  readonly destination: pulumi.Output<string>;
  readonly filter: string;
  /** Empty for this destination (same-project bucket); exported for inspection only. */
  readonly writerIdentity: pulumi.Output<string>;
  /** A ready `gcloud logging read` command for the call summaries. */
  readonly readCommand: string;
  /** `projects/<p>/datasets/<id>` of the linked BigQuery dataset, when there is one. */
  readonly linkedDataset?: pulumi.Output<string>;

  constructor(name: string, args: CallLogsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("exotel-bridge:infra:CallLogs", name, {}, opts);
    const bucket = new gcp.logging.ProjectBucketConfig(
      `${name}-bucket`,
      {
        project: args.project,
        location: args.location,
        bucketId: args.bucketId,
        description: `exotel-bridge call records of ${args.serviceName} (managed by Pulumi)`,
        retentionDays: args.retentionDays,
        enableAnalytics: args.analytics,
      },
      { parent: this },
    );
    this.bucketName = bucket.name;
    this.destination = pulumi.interpolate`logging.googleapis.com/${bucket.name}`;
    this.filter = serviceLogFilter(args.serviceName, args.routing);

    const sink = new gcp.logging.ProjectSink(
      `${name}-sink`,
      {
        project: args.project,
        name: args.sinkName,
        description: "Routes exotel-bridge call records to their bucket (managed by Pulumi)",
        destination: this.destination,
        filter: this.filter,
        // Google's documented default; for a same-project bucket it yields no identity either way.
        uniqueWriterIdentity: true,
      },
      { parent: this },
    );
    this.writerIdentity = sink.writerIdentity;

    if (args.linkedDatasetId !== undefined && args.analytics) {
      // Read-only BigQuery view of the bucket: SQL joins with other data, scheduled queries, Looker Studio.
      const link = new gcp.logging.LinkedDataset(
        `${name}-bigquery`,
        {
          parent: `projects/${args.project}`,
          location: args.location,
          bucket: bucket.bucketId,
          linkId: args.linkedDatasetId,
          description: "exotel-bridge call records (managed by Pulumi)",
        },
        { parent: this },
      );
      this.linkedDataset = link.linkId.apply((id) => `projects/${args.project}/datasets/${id}`);
    }
    if (args.excludeFromDefault === true) {
      // An exclusion on the _Default sink: call records land only in this bucket. Log-based metrics
      // still see them (they are computed before sinks and exclusions apply).
      new gcp.logging.ProjectExclusion(
        `${name}-default-exclusion`,
        {
          project: args.project,
          name: `${args.sinkName}-records`.slice(0, 100),
          description: "exotel-bridge call records are kept in their own bucket only (managed by Pulumi)",
          filter: callRecordsFilter(args.serviceName),
        },
        { parent: this },
      );
    }

    this.readCommand =
      `gcloud logging read 'jsonPayload.event="call_summary"' --project=${args.project} ` +
      `--bucket=${args.bucketId} --location=${args.location} --view=_AllLogs --limit=20`;
    this.registerOutputs({
      bucketName: this.bucketName,
      destination: this.destination,
      writerIdentity: this.writerIdentity,
    });
  }
}
