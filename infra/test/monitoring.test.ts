// The real program under Pulumi mocks with monitoring on, an alert email, custom thresholds and a
// post-call webhook secret: log-based metrics, the dashboard (valid mosaicLayout JSON naming only
// metrics that exist, with aggregations valid for each metric's kind), alert policies wired to the
// email channel, the linked BigQuery dataset, the _Default exclusion and the webhook secret.
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { CALL_METRICS, metricFilter, metricType } from "../lib/call-metrics";
import { GRID_COLUMNS } from "../lib/dashboard";
import { callRecordsFilter } from "../lib/log-filter";
import {
  assertDeployerCanCreate,
  ofType,
  PROJECT_ID,
  type ProgramRun,
  plain,
  runProgram,
  single,
  strings,
} from "./support/harness";

const SERVICE = "exotel-bridge-dev";
const WEBHOOK_SECRET = "wsec_monitoring_test_9f8e7d";
const EMAIL = "oncall@example.in";

const config: Record<string, string> = {
  "gcp:project": PROJECT_ID,
  "gcp:region": "asia-south1",
  "exotel-bridge:elevenlabsApiKey": "sk_monitoring_test",
  "exotel-bridge:elevenlabsAgentId": "agent_monitoring_test",
  "exotel-bridge:elevenlabsWebhookSecret": WEBHOOK_SECRET,
  "exotel-bridge:alertEmail": EMAIL,
  "exotel-bridge:alertConnectFailurePercent": "15",
  "exotel-bridge:alertErrorEndings": "7",
  "exotel-bridge:alertCpuPercent": "75",
  "exotel-bridge:alertMemoryPercent": "90",
};

/** Kind and value type of the Cloud Run metrics the dashboard and alerts read (Google Cloud metrics list, run.googleapis.com). */
const RUN_METRICS: Record<
  string,
  { kind: "DELTA" | "GAUGE"; value: "INT64" | "DISTRIBUTION"; labels: string[] }
> = {
  "run.googleapis.com/request_count": {
    kind: "DELTA",
    value: "INT64",
    labels: ["response_code", "response_code_class", "route"],
  },
  "run.googleapis.com/container/instance_count": { kind: "GAUGE", value: "INT64", labels: ["state"] },
  "run.googleapis.com/container/max_request_concurrencies": {
    kind: "DELTA",
    value: "DISTRIBUTION",
    labels: ["state"],
  },
  "run.googleapis.com/container/cpu/utilizations": { kind: "DELTA", value: "DISTRIBUTION", labels: [] },
  "run.googleapis.com/container/memory/utilizations": { kind: "DELTA", value: "DISTRIBUTION", labels: [] },
};

/** Aligners Cloud Monitoring accepts per metric kind and value type. */
function alignerFits(aligner: string, kind: string, value: string): boolean {
  if (value === "DISTRIBUTION") return aligner === "ALIGN_DELTA" || aligner.startsWith("ALIGN_PERCENTILE_");
  if (kind === "DELTA") return ["ALIGN_DELTA", "ALIGN_RATE", "ALIGN_SUM"].includes(aligner);
  return ["ALIGN_MAX", "ALIGN_MIN", "ALIGN_MEAN"].includes(aligner);
}

interface Query {
  filter: string;
  aggregation?: Record<string, unknown>;
}
interface TimeSeriesQuery {
  timeSeriesFilter?: Query;
  timeSeriesFilterRatio?: { numerator: Query; denominator: Query };
}
interface Threshold {
  filter: string;
  aggregations: Record<string, unknown>[];
  denominatorFilter?: string;
  denominatorAggregations?: Record<string, unknown>[];
  thresholdValue: number;
}
interface Policy {
  displayName: string;
  combiner: string;
  notificationChannels: string[];
  documentation: { content: string };
  conditions: { conditionThreshold: Threshold }[];
}

let run: ProgramRun;
let metrics: Record<string, unknown>[];
/** Every metric type the stack creates, with its kind and value type. */
const known = new Map<string, { kind: string; value: string; labels: string[] }>();

before(async () => {
  run = await runProgram(config, ["exotel-bridge:elevenlabsApiKey", "exotel-bridge:elevenlabsWebhookSecret"]);
  metrics = ofType(run, "gcp:logging/metric:Metric").map((r) => plain(r.inputs) as Record<string, unknown>);
  for (const [type, m] of Object.entries(RUN_METRICS)) known.set(type, m);
  for (const m of metrics) {
    const d = m.metricDescriptor as { metricKind: string; valueType: string; labels?: { key: string }[] };
    known.set(`logging.googleapis.com/user/${m.name}`, {
      kind: d.metricKind,
      value: d.valueType,
      labels: (d.labels ?? []).map((l) => l.key),
    });
  }
});

/** Checks one Monitoring filter + aggregation pair against the known metrics; returns the type. */
function checkQuery(filter: string, aggregation: Record<string, unknown> | undefined, where: string): string {
  const type = /metric\.type="([^"]+)"/.exec(filter)?.[1];
  assert.ok(type, `${where}: names a metric type`);
  const m = known.get(type);
  assert.ok(m, `${where}: ${type} is a metric the stack creates or a Cloud Run metric`);
  assert.match(filter, /resource\.type="cloud_run_revision"/, where);
  for (const [, label] of filter.matchAll(/metric\.label\.([a-z_]+)=/g)) {
    assert.ok(m.labels.includes(label as string), `${where}: ${type} has label ${label}`);
  }
  assert.ok(aggregation, `${where}: has an aggregation`);
  assert.match(String(aggregation.alignmentPeriod), /^[1-9][0-9]*s$/, where);
  const aligner = String(aggregation.perSeriesAligner);
  assert.ok(alignerFits(aligner, m.kind, m.value), `${where}: ${aligner} fits ${m.kind} ${m.value}`);
  for (const field of (aggregation.groupByFields as string[] | undefined) ?? []) {
    const label = /^metric\.label\.([a-z_]+)$/.exec(field)?.[1];
    assert.ok(label && m.labels.includes(label), `${where}: groups by an existing label (${field})`);
  }
  return type;
}

describe("log-based metrics", () => {
  it("creates one per spec, named under the service, with the rendered filter", () => {
    assert.deepEqual(metrics.map((m) => m.name).sort(), CALL_METRICS.map((s) => `${SERVICE}/${s.id}`).sort());
    for (const s of CALL_METRICS) {
      const m = metrics.find((x) => x.name === `${SERVICE}/${s.id}`) as Record<string, unknown>;
      assert.equal(m.project, PROJECT_ID);
      assert.equal(m.filter, metricFilter(SERVICE, s));
      assert.ok((m.filter as string).length <= 20_000, "within the API's filter limit");
    }
  });

  it("declares every label it extracts, and distributions have a value extractor and buckets", () => {
    for (const m of metrics) {
      const d = m.metricDescriptor as { metricKind: string; valueType: string; labels?: { key: string }[] };
      assert.equal(d.metricKind, "DELTA");
      const declared = (d.labels ?? []).map((l) => l.key).sort();
      assert.deepEqual(
        Object.keys((m.labelExtractors as object | undefined) ?? {}).sort(),
        declared,
        String(m.name),
      );
      for (const ex of Object.values((m.labelExtractors as Record<string, string> | undefined) ?? {})) {
        assert.match(ex, /^EXTRACT\(jsonPayload\.[a-z_.]+\)$/);
      }
      if (d.valueType === "DISTRIBUTION") {
        assert.match(String(m.valueExtractor), /^EXTRACT\(jsonPayload\.[a-z_.]+\)$/, String(m.name));
        assert.ok(m.bucketOptions, `${m.name} has buckets`);
      } else {
        assert.equal(d.valueType, "INT64");
        assert.equal(m.valueExtractor, undefined);
        assert.equal(m.bucketOptions, undefined);
      }
    }
  });
});

describe("dashboard", () => {
  let body: {
    displayName: string;
    mosaicLayout: {
      columns: number;
      tiles: { xPos: number; yPos: number; width: number; height: number; widget: Record<string, unknown> }[];
    };
  };
  before(() => {
    const d = plain(single(run, "gcp:monitoring/dashboard:Dashboard").inputs) as {
      dashboardJson: string;
      project: string;
    };
    assert.equal(d.project, PROJECT_ID);
    body = JSON.parse(d.dashboardJson);
  });

  it("is a mosaicLayout whose tiles fit the 48-column grid without overlapping", () => {
    assert.equal(body.mosaicLayout.columns, GRID_COLUMNS);
    const cells = new Set<string>();
    for (const t of body.mosaicLayout.tiles) {
      assert.ok(t.xPos >= 0 && t.width > 0 && t.xPos + t.width <= GRID_COLUMNS, JSON.stringify(t));
      assert.ok(t.yPos >= 0 && t.height > 0);
      for (let x = t.xPos; x < t.xPos + t.width; x++) {
        for (let y = t.yPos; y < t.yPos + t.height; y++) {
          assert.ok(!cells.has(`${x},${y}`), `tiles overlap at ${x},${y}`);
          cells.add(`${x},${y}`);
        }
      }
      assert.ok(typeof t.widget.title === "string" && t.widget.title !== "");
    }
  });

  it("charts only metrics that exist, with aggregations valid for their kind", () => {
    const charted = new Set<string>();
    for (const t of body.mosaicLayout.tiles) {
      const chart = t.widget.xyChart as { dataSets: { timeSeriesQuery: TimeSeriesQuery }[] };
      assert.ok(chart && chart.dataSets.length > 0, String(t.widget.title));
      for (const ds of chart.dataSets) {
        const q = ds.timeSeriesQuery;
        const ratio = q.timeSeriesFilterRatio;
        const parts = q.timeSeriesFilter
          ? [q.timeSeriesFilter]
          : ratio
            ? [ratio.numerator, ratio.denominator]
            : [];
        assert.ok(parts.length > 0, String(t.widget.title));
        for (const p of parts) charted.add(checkQuery(p.filter, p.aggregation, String(t.widget.title)));
      }
    }
    // Every call metric and every Cloud Run metric an operator needs is on it.
    for (const id of CALL_METRICS.map((s) => s.id)) assert.ok(charted.has(metricType(SERVICE, { id })), id);
    for (const type of Object.keys(RUN_METRICS)) assert.ok(charted.has(type), type);
  });

  it("shows the agent success rate as success analyses over all analyses", () => {
    const tile = body.mosaicLayout.tiles.find((t) => /success rate/i.test(String(t.widget.title)));
    const chart = tile?.widget.xyChart as { dataSets: { timeSeriesQuery: TimeSeriesQuery }[] } | undefined;
    const q = chart?.dataSets[0]?.timeSeriesQuery.timeSeriesFilterRatio;
    assert.ok(q, "a ratio chart");
    assert.match(q.numerator.filter, /metric\.label\.call_successful="success"/);
    assert.doesNotMatch(q.denominator.filter, /call_successful/);
  });
});

describe("alerts", () => {
  it("emails the configured address", () => {
    const channel = plain(
      single(run, "gcp:monitoring/notificationChannel:NotificationChannel").inputs,
    ) as Record<string, unknown>;
    assert.equal(channel.type, "email");
    assert.deepEqual(channel.labels, { email_address: EMAIL });
  });

  it("creates the four policies with thresholds from config, each naming existing metrics and the channel", () => {
    const policies = ofType(run, "gcp:monitoring/alertPolicy:AlertPolicy").map(
      (r) => plain(r.inputs) as Policy,
    );
    assert.equal(policies.length, 4);
    const byName = (re: RegExp) => {
      const p = policies.find((x) => re.test(x.displayName));
      assert.ok(p, String(re));
      return (p.conditions[0] as { conditionThreshold: Threshold }).conditionThreshold;
    };
    for (const p of policies) {
      assert.equal(p.notificationChannels.length, 1, p.displayName);
      assert.equal(p.combiner, "OR");
      assert.ok(p.documentation.content.length > 20);
      const c = (p.conditions[0] as { conditionThreshold: Threshold }).conditionThreshold;
      checkQuery(c.filter, c.aggregations[0], p.displayName);
      if (c.denominatorFilter) checkQuery(c.denominatorFilter, c.denominatorAggregations?.[0], p.displayName);
    }
    const connect = byName(/agent connect failures/);
    assert.equal(connect.thresholdValue, 0.15);
    assert.match(connect.filter, /agent_connect_failures/);
    assert.match(String(connect.denominatorFilter), new RegExp(`user/${SERVICE}/calls"`));
    const errors = byName(/agent_error\/internal_error/);
    assert.equal(errors.thresholdValue, 7);
    assert.match(errors.filter, /metric\.label\.end_reason=one_of\("agent_error", "internal_error"\)/);
    assert.equal(byName(/CPU/).thresholdValue, 0.75);
    assert.equal(byName(/memory/).thresholdValue, 0.9);
  });
});

describe("SQL over every call", () => {
  it("links a BigQuery dataset to the call-log bucket and enables BigQuery", () => {
    const link = plain(single(run, "gcp:logging/linkedDataset:LinkedDataset").inputs) as Record<
      string,
      unknown
    >;
    assert.deepEqual(
      { parent: link.parent, location: link.location, bucket: link.bucket, linkId: link.linkId },
      {
        parent: `projects/${PROJECT_ID}`,
        location: "asia-south1",
        bucket: `${SERVICE}-calls`,
        linkId: "exotel_bridge_dev_calls",
      },
    );
    assert.ok(
      ofType(run, "gcp:projects/service:Service").some(
        (r) => plain(r.inputs.service) === "bigquery.googleapis.com",
      ),
    );
    assert.equal(run.outputs.callsDataset?.value, `projects/${PROJECT_ID}/datasets/exotel_bridge_dev_calls`);
  });

  it("keeps call records out of _Default with the same filter that routes them to their bucket", () => {
    const ex = plain(single(run, "gcp:logging/projectExclusion:ProjectExclusion").inputs) as Record<
      string,
      unknown
    >;
    const sink = plain(single(run, "gcp:logging/projectSink:ProjectSink").inputs) as Record<string, unknown>;
    assert.equal(ex.filter, callRecordsFilter(SERVICE));
    assert.equal(ex.filter, sink.filter);
    assert.equal(ex.project, PROJECT_ID);
  });
});

describe("post-call webhook secret", () => {
  it("goes through Secret Manager to ELEVENLABS_WEBHOOK_SECRET and never appears in clear", () => {
    const svc = plain(single(run, "gcp:cloudrunv2/service:Service").inputs) as {
      template: { containers: { envs: { name: string; value?: string; valueSource?: unknown }[] }[] };
    };
    const env = (svc.template.containers[0]?.envs ?? []).find((e) => e.name === "ELEVENLABS_WEBHOOK_SECRET");
    assert.ok(env?.valueSource, "a secret reference");
    assert.equal(env.value, undefined);
    for (const r of run.resources) {
      for (const s of strings(r.inputs)) {
        if (s.text.includes(WEBHOOK_SECRET)) assert.ok(s.insideSecret, `${r.type} holds the secret in clear`);
      }
    }
    assert.equal(
      run.outputs.postCallWebhookUrl?.value,
      `https://${SERVICE}-x7k2q9abcd-el.a.run.app/webhooks/elevenlabs/post-call`,
    );
    assert.ok(
      run.outputs.dashboardUrl?.value && String(run.outputs.dashboardUrl.value).includes(PROJECT_ID),
      "dashboard URL exported",
    );
  });
});

describe("deployer permissions with monitoring, an alert email and the linked dataset", () => {
  it("grants a role for every monitoring resource, the BigQuery link and the APIs it enables", () => {
    const types = new Set(run.resources.map((r) => r.type));
    for (const type of [
      "gcp:logging/metric:Metric",
      "gcp:monitoring/dashboard:Dashboard",
      "gcp:monitoring/alertPolicy:AlertPolicy",
      "gcp:monitoring/notificationChannel:NotificationChannel",
      "gcp:logging/linkedDataset:LinkedDataset",
      "gcp:logging/projectExclusion:ProjectExclusion",
      "gcp:projects/service:Service",
    ]) {
      assert.ok(types.has(type), `this run creates ${type}`);
    }
    assertDeployerCanCreate(run);
    assert.throws(
      () => assertDeployerCanCreate(run, { stateStore: "memory", recordings: false, monitoring: false }),
      /needs roles\/monitoring\./,
    );
  });
});
