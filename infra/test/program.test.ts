// The real program under Pulumi mocks, with every optional key set (sample rate, Exotel Basic
// auth, allowed agents, non-default sizing). Asserts each property the deployment promises.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { before, describe, it } from "node:test";
import {
  assertDeployerCanCreate,
  dependencyClosure,
  FAKE_ACCESS_TOKEN,
  MOCK_SECRET_VERSION,
  ofType,
  PROJECT_ID,
  type ProgramRun,
  plain,
  type Recorded,
  runProgram,
  single,
  strings,
} from "./support/harness";

const API_KEY = "sk_test_elevenlabs_key_5b7c9d";
const AGENT_ID = "agent_test_full_0a1b2c";
const BASIC_AUTH = "exotelkey:exotel-token-3f4e5d";
const SECRET_VALUES = [API_KEY, AGENT_ID, BASIC_AUTH, FAKE_ACCESS_TOKEN];
const SERVICE = "exotel-bridge-dev";
const REGION = "asia-south1";

const config: Record<string, string> = {
  "gcp:project": PROJECT_ID,
  "gcp:region": REGION,
  "exotel-bridge:elevenlabsApiKey": API_KEY,
  "exotel-bridge:elevenlabsAgentId": AGENT_ID,
  "exotel-bridge:exotelBasicAuth": BASIC_AUTH,
  "exotel-bridge:elevenlabsRegion": "india",
  "exotel-bridge:elevenlabsAllowedAgentIds": "agent_a,agent_b",
  "exotel-bridge:exotelAllowedCidrs": "203.0.113.0/24,2001:db8::/32",
  "exotel-bridge:sampleRate": "16000",
  "exotel-bridge:concurrency": "40",
  "exotel-bridge:minInstances": "2",
  "exotel-bridge:maxInstances": "6",
  "exotel-bridge:cpu": "2",
  "exotel-bridge:memory": "1Gi",
  "exotel-bridge:logLevel": "debug",
  "exotel-bridge:drainTimeoutMs": "7000",
  "exotel-bridge:deletionProtection": "true",
  "exotel-bridge:logRetentionDays": "400",
};
const secretKeys = ["exotel-bridge:elevenlabsApiKey", "exotel-bridge:exotelBasicAuth"];

let run: ProgramRun;
let service: Record<string, unknown>;
let container: Record<string, unknown>;
let envs: {
  name: string;
  value?: string;
  valueSource?: { secretKeyRef: { secret: string; version: string } };
}[];
let saEmail: string;

before(async () => {
  run = await runProgram(config, secretKeys);
  service = plain(single(run, "gcp:cloudrunv2/service:Service").inputs) as Record<string, unknown>;
  const template = service.template as Record<string, unknown>;
  container = (template.containers as Record<string, unknown>[])[0] as Record<string, unknown>;
  envs = container.envs as typeof envs;
  saEmail = plain(single(run, "gcp:serviceaccount/account:Account").state.email) as string;
});

function templateOf(): Record<string, unknown> {
  return service.template as Record<string, unknown>;
}

describe("project APIs", () => {
  it("enables every API the stack uses and leaves them on at destroy", () => {
    const apis = ofType(run, "gcp:projects/service:Service").map(
      (r) => plain(r.inputs) as Record<string, unknown>,
    );
    assert.deepEqual(apis.map((a) => a.service).sort(), [
      "artifactregistry.googleapis.com",
      "bigquery.googleapis.com",
      "cloudresourcemanager.googleapis.com",
      "iam.googleapis.com",
      "logging.googleapis.com",
      "monitoring.googleapis.com",
      "run.googleapis.com",
      "secretmanager.googleapis.com",
    ]);
    for (const api of apis) {
      assert.equal(api.project, PROJECT_ID);
      assert.equal(api.disableOnDestroy, false);
    }
  });
});

describe("registry and image", () => {
  it("creates a Docker repository in the region with keep-recent and delete-old cleanup policies", () => {
    const repo = plain(single(run, "gcp:artifactregistry/repository:Repository").inputs) as Record<
      string,
      unknown
    >;
    assert.equal(repo.format, "DOCKER");
    assert.equal(repo.location, REGION);
    assert.equal(repo.repositoryId, SERVICE);
    assert.equal(repo.cleanupPolicyDryRun, false);
    const policies = repo.cleanupPolicies as Record<string, unknown>[];
    const keep = policies.find((p) => p.action === "KEEP");
    const del = policies.find((p) => p.action === "DELETE");
    assert.deepEqual(keep?.mostRecentVersions, { keepCount: 10 });
    assert.deepEqual(del?.condition, { tagState: "ANY", olderThan: `${30 * 86400}s` });
  });

  it("builds app/ with app/Dockerfile for linux/amd64 and pushes it to the repository", () => {
    const image = plain(single(run, "docker-build:index:Image").inputs) as Record<string, unknown>;
    const repoRoot = path.resolve(__dirname, "..", "..");
    assert.deepEqual(image.context, { location: path.join(repoRoot, "app") });
    assert.deepEqual(image.dockerfile, { location: path.join(repoRoot, "app", "Dockerfile") });
    assert.deepEqual(image.platforms, ["linux/amd64"]);
    assert.equal(image.push, true);
    assert.deepEqual(image.tags, [`${REGION}-docker.pkg.dev/${PROJECT_ID}/${SERVICE}/bridge:latest`]);
  });

  it("keeps a best-effort layer cache in its own package of the repository", () => {
    const image = plain(single(run, "docker-build:index:Image").inputs) as Record<string, unknown>;
    const cacheRef = `${REGION}-docker.pkg.dev/${PROJECT_ID}/${SERVICE}/bridge-buildcache:latest`;
    assert.deepEqual(image.cacheFrom, [{ registry: { ref: cacheRef } }]);
    const [cacheTo] = image.cacheTo as { registry: Record<string, unknown> }[];
    assert.equal(cacheTo?.registry.ref, cacheRef);
    assert.equal(cacheTo?.registry.ignoreError, true);
  });

  it("authenticates the push with the deployer's token, marked secret", () => {
    const image = single(run, "docker-build:index:Image");
    const registries = plain(image.inputs.registries) as Record<string, unknown>[];
    assert.deepEqual(registries, [
      { address: `${REGION}-docker.pkg.dev`, username: "oauth2accesstoken", password: FAKE_ACCESS_TOKEN },
    ]);
    const token = strings(image.inputs.registries).filter((s) => s.text === FAKE_ACCESS_TOKEN);
    assert.deepEqual(
      token.map((s) => s.insideSecret),
      [true],
      "the registry password must be a secret",
    );
  });

  it("runs the service from the image pinned by digest", () => {
    const image = single(run, "docker-build:index:Image");
    const expected = `${(image.inputs.tags as string[])[0]}@${image.state.digest as string}`;
    assert.match(container.image as string, /@sha256:[0-9a-f]{64}$/);
    assert.equal(container.image, expected);
    assert.equal(run.outputs.imageRef?.value, expected);
  });
});

describe("Cloud Run service", () => {
  it("is a v2 service named after the stack in the configured region", () => {
    assert.equal(service.name, SERVICE);
    assert.equal(service.location, REGION);
    assert.equal(service.project, PROJECT_ID);
  });

  it("has session affinity, a 3600 s request timeout and runs as the runtime service account", () => {
    assert.equal(templateOf().sessionAffinity, true);
    assert.equal(templateOf().timeout, "3600s");
    assert.equal(templateOf().serviceAccount, saEmail);
  });

  it("keeps CPU allocated and speaks HTTP/1 to the container", () => {
    const resources = container.resources as Record<string, unknown>;
    assert.equal(resources.cpuIdle, false);
    assert.deepEqual(container.ports, { name: "http1", containerPort: 8080 });
  });

  it("takes call concurrency, instance counts, CPU and memory from config", () => {
    // 40 calls plus the default headroom of max(10, 40/4) requests for health checks and callbacks.
    assert.equal(templateOf().maxInstanceRequestConcurrency, 50);
    assert.deepEqual(templateOf().scaling, { minInstanceCount: 2, maxInstanceCount: 6 });
    assert.deepEqual((container.resources as Record<string, unknown>).limits, { cpu: "2", memory: "1Gi" });
  });

  it("keeps MAX_CONCURRENT_CALLS below Cloud Run's request limit and passes plain config", () => {
    const value = (name: string) => envs.find((e) => e.name === name)?.value;
    assert.equal(value("MAX_CONCURRENT_CALLS"), "40");
    assert.ok(
      Number(value("MAX_CONCURRENT_CALLS")) < (templateOf().maxInstanceRequestConcurrency as number),
      "Cloud Run must hand a full instance one more request, so the bridge's own 503 can fire",
    );
    assert.equal(value("ELEVENLABS_REGION"), "india");
    assert.equal(value("ELEVENLABS_ALLOWED_AGENT_IDS"), "agent_a,agent_b");
    assert.equal(value("EXOTEL_ALLOWED_CIDRS"), "203.0.113.0/24,2001:db8::/32");
    assert.equal(value("TRUSTED_PROXY_HOPS"), "1", "the caller's address is the last X-Forwarded-For entry");
    assert.equal(value("LOG_LEVEL"), "debug");
    assert.equal(value("DRAIN_TIMEOUT_MS"), "7000");
    // Cloud Run sets PORT itself and refuses a service that sets it.
    assert.equal(value("PORT"), undefined);
  });

  it("reads every secret from Secret Manager by reference, pinned to the version Pulumi wrote", () => {
    const secretIds = ofType(run, "gcp:secretmanager/secret:Secret").map(
      (s) => plain(s.inputs.secretId) as string,
    );
    for (const name of ["ELEVENLABS_API_KEY", "ELEVENLABS_AGENT_ID", "EXOTEL_BASIC_AUTH"]) {
      const env = envs.find((e) => e.name === name);
      assert.ok(env, `${name} is set`);
      assert.equal(env.value, undefined, `${name} has no literal value`);
      const ref = env.valueSource?.secretKeyRef;
      assert.ok(ref, `${name} is a secretKeyRef`);
      assert.equal(ref.secret, `${SERVICE}-${name.toLowerCase().replace(/_/g, "-")}`);
      assert.ok(secretIds.includes(ref.secret));
      // A concrete version (not "latest"): rotating writes a new version and so a new revision.
      assert.equal(ref.version, MOCK_SECRET_VERSION);
    }
  });

  it("probes /readyz at startup and /healthz for liveness on the container port", () => {
    const startup = container.startupProbe as Record<string, Record<string, unknown>>;
    const liveness = container.livenessProbe as Record<string, Record<string, unknown>>;
    assert.deepEqual(startup.httpGet, { path: "/readyz", port: 8080 });
    assert.deepEqual(liveness.httpGet, { path: "/healthz", port: 8080 });
  });

  it("accepts traffic from anywhere, sends all of it to the latest revision, honours deletion protection", () => {
    assert.equal(service.ingress, "INGRESS_TRAFFIC_ALL");
    assert.deepEqual(service.traffics, [{ type: "TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST", percent: 100 }]);
    assert.equal(service.deletionProtection, true);
  });
});

describe("secrets", () => {
  it("creates one secret and one version per credential, from the config values, as secrets", () => {
    const versions = ofType(run, "gcp:secretmanager/secretVersion:SecretVersion");
    assert.equal(versions.length, 3);
    const data = versions.map((v) => {
      const found = strings(v.inputs.secretData);
      assert.deepEqual(
        found.map((s) => s.insideSecret),
        [true],
        `${v.name}: secretData must be secret`,
      );
      return found[0]?.text;
    });
    assert.deepEqual(data.sort(), [AGENT_ID, API_KEY, BASIC_AUTH].sort());
    for (const s of ofType(run, "gcp:secretmanager/secret:Secret")) {
      const inputs = plain(s.inputs) as Record<string, unknown>;
      assert.deepEqual(inputs.replication, { userManaged: { replicas: [{ location: REGION }] } });
      assert.equal(inputs.deletionProtection, true);
      // A replaced version stays restorable (disabled) for a week before Google destroys it.
      assert.equal(inputs.versionDestroyTtl, `${7 * 86400}s`);
    }
    for (const v of versions) assert.equal(plain(v.inputs.deletionPolicy), "DELETE");
  });

  it("never lets a secret value appear outside a secret version's payload or the registry password", () => {
    const allowed = (r: Recorded, key: string) =>
      (r.type === "gcp:secretmanager/secretVersion:SecretVersion" && key === "secretData") ||
      (r.type === "docker-build:index:Image" && key === "registries");
    for (const r of run.resources) {
      for (const [key, value] of Object.entries(r.inputs)) {
        for (const s of strings(value)) {
          for (const secret of SECRET_VALUES) {
            if (!s.text.includes(secret)) continue;
            assert.ok(allowed(r, key), `${secret} leaked into ${r.type} ${r.name}.${key}`);
            assert.ok(s.insideSecret, `${secret} in ${r.type} ${r.name}.${key} is not marked secret`);
          }
        }
      }
    }
    for (const [key, output] of Object.entries(run.outputs)) {
      for (const s of strings(output.value)) {
        for (const secret of SECRET_VALUES) assert.ok(!s.text.includes(secret), `${secret} in output ${key}`);
      }
    }
  });
});

describe("IAM: least privilege", () => {
  type Grant = { type: string; role: string; member: string; on: string; condition?: string };
  let grants: Grant[];

  before(() => {
    grants = run.resources
      .filter((r) => /iam(member|binding|policy)/i.test(r.type))
      .map((r) => {
        const i = plain(r.inputs) as Record<string, unknown>;
        const condition = i.condition as { expression: string } | undefined;
        return {
          type: r.type,
          role: i.role as string,
          member: i.member as string,
          on: (i.secretId ?? i.name ?? i.project) as string,
          ...(condition ? { condition: condition.expression } : {}),
        };
      });
  });

  it("gives the runtime identity one project role, log writing, and no metric writer", () => {
    // The bridge writes to stdout only and the stack's metrics are log-based: Cloud Monitoring is
    // never called with the runtime identity, so roles/monitoring.metricWriter would be unused power.
    const sa = `serviceAccount:${saEmail}`;
    const projectRoles = grants.filter((g) => g.member === sa && g.on === PROJECT_ID).map((g) => g.role);
    assert.deepEqual(projectRoles, ["roles/logging.logWriter"]);
    assert.ok(!grants.some((g) => /monitoring/.test(g.role)), "no monitoring role for anyone");
  });

  it("binds only additive IAM members, never authoritative bindings or policies", () => {
    for (const g of grants) assert.match(g.type, /IamMember|IAMMember/, g.type);
  });

  it("grants exactly: accessor per secret, log writer to the runtime SA; public invoke", () => {
    const sa = `serviceAccount:${saEmail}`;
    const secret = (env: string) => `projects/${PROJECT_ID}/secrets/${SERVICE}-${env}`;
    const expected: Grant[] = [
      ...["elevenlabs-api-key", "elevenlabs-agent-id", "exotel-basic-auth"].map((s) => ({
        type: "gcp:secretmanager/secretIamMember:SecretIamMember",
        role: "roles/secretmanager.secretAccessor",
        member: sa,
        on: secret(s),
      })),
      {
        type: "gcp:projects/iAMMember:IAMMember",
        role: "roles/logging.logWriter",
        member: sa,
        on: PROJECT_ID,
      },
      {
        type: "gcp:cloudrunv2/serviceIamMember:ServiceIamMember",
        role: "roles/run.invoker",
        member: "allUsers",
        on: SERVICE,
      },
    ];
    const key = (g: Grant) => JSON.stringify([g.type, g.role, g.member, g.on, g.condition ?? ""]);
    assert.deepEqual(grants.map(key).sort(), expected.map(key).sort());
  });
});

describe("call log sink", () => {
  it("routes the service's call summaries to a regional log bucket with the configured retention", () => {
    const bucket = plain(single(run, "gcp:logging/projectBucketConfig:ProjectBucketConfig").inputs) as Record<
      string,
      unknown
    >;
    assert.equal(bucket.bucketId, `${SERVICE}-calls`);
    assert.equal(bucket.location, REGION);
    assert.equal(bucket.retentionDays, 400);
    assert.equal(bucket.enableAnalytics, true);
    const sink = plain(single(run, "gcp:logging/projectSink:ProjectSink").inputs) as Record<string, unknown>;
    assert.equal(
      sink.filter,
      `resource.type="cloud_run_revision" AND resource.labels.service_name="${SERVICE}" AND jsonPayload.event=("call_summary" OR "call_analysis")`,
    );
    assert.equal(
      sink.destination,
      `logging.googleapis.com/projects/${PROJECT_ID}/locations/${REGION}/buckets/${SERVICE}-calls`,
    );
    assert.equal(sink.uniqueWriterIdentity, true);
  });

  it("grants the sink nothing: Google gives a same-project bucket sink no writer identity", () => {
    const sink = single(run, "gcp:logging/projectSink:ProjectSink");
    assert.equal(plain(sink.state.writerIdentity), "", "the mock answers as Google documents");
    const grants = ofType(run, "gcp:projects/iAMMember:IAMMember").map((r) => plain(r.inputs.role));
    assert.ok(!grants.includes("roles/logging.bucketWriter"), "no grant made from an empty identity");
  });
});

describe("deployer permissions", () => {
  it("grants the deployer a role for every kind of resource this stack creates", () => {
    // Monitoring is on by default: its metrics, dashboard and alert policies are created too.
    assert.ok(ofType(run, "gcp:monitoring/dashboard:Dashboard").length === 1);
    assertDeployerCanCreate(run);
    assert.throws(
      () => assertDeployerCanCreate(run, { stateStore: "memory", recordings: false, monitoring: false }),
      /needs roles\/monitoring\./,
      "without the monitoring roles this stack would hit a 403",
    );
  });
});

describe("resource ordering (what the engine is told to wait for)", () => {
  // Which API each kind of resource needs before Google will create it.
  const API_OF: [RegExp, string][] = [
    [/^gcp:cloudrunv2\//, "run.googleapis.com"],
    [/^gcp:artifactregistry\//, "artifactregistry.googleapis.com"],
    [/^docker-build:/, "artifactregistry.googleapis.com"],
    [/^gcp:secretmanager\//, "secretmanager.googleapis.com"],
    [/^gcp:serviceaccount\//, "iam.googleapis.com"],
    [/^gcp:projects\/iAMMember:/, "cloudresourcemanager.googleapis.com"],
    [/^gcp:logging\//, "logging.googleapis.com"],
  ];

  it("creates every resource after the API it needs is enabled", () => {
    const apiUrn = (api: string) => {
      const found = ofType(run, "gcp:projects/service:Service").find((r) => plain(r.inputs.service) === api);
      assert.ok(found?.urn, `${api} is enabled by the stack`);
      return found.urn;
    };
    let checked = 0;
    for (const r of run.resources) {
      const api = API_OF.find(([re]) => re.test(r.type))?.[1];
      if (api === undefined) continue;
      checked++;
      assert.ok(dependencyClosure(run, r).has(apiUrn(api)), `${r.type} ${r.name} waits for ${api}`);
    }
    assert.ok(checked >= 15, `checked ${checked} resources`);
  });

  it("rolls the revision only after every secret version and every accessor grant exist", () => {
    const service = single(run, "gcp:cloudrunv2/service:Service");
    const deps = dependencyClosure(run, service);
    const needed = [
      ...ofType(run, "gcp:secretmanager/secretVersion:SecretVersion"),
      ...ofType(run, "gcp:secretmanager/secretIamMember:SecretIamMember"),
      single(run, "docker-build:index:Image"),
      single(run, "gcp:serviceaccount/account:Account"),
    ];
    assert.equal(needed.length, 8);
    for (const r of needed) assert.ok(r.urn && deps.has(r.urn), `the service waits for ${r.type} ${r.name}`);
  });

  it("binds the runtime identity's project roles after the account exists", () => {
    const account = single(run, "gcp:serviceaccount/account:Account");
    for (const grant of ofType(run, "gcp:projects/iAMMember:IAMMember")) {
      assert.ok(
        dependencyClosure(run, grant).has(account.urn as string),
        `${grant.name} waits for the account`,
      );
    }
  });
});

describe("stack outputs", () => {
  it("exports the service URL, the Exotel stream URL with sample-rate, the image and the log destination", () => {
    const host = `${SERVICE}-x7k2q9abcd-el.a.run.app`;
    assert.equal(run.outputs.serviceUrl?.value, `https://${host}`);
    assert.equal(run.outputs.exotelStreamUrl?.value, `wss://${host}/media?sample-rate=16000`);
    assert.match(run.outputs.imageRef?.value as string, /^asia-south1-docker\.pkg\.dev\/.+@sha256:/);
    assert.equal(
      run.outputs.logDestination?.value,
      `logging.googleapis.com/projects/${PROJECT_ID}/locations/${REGION}/buckets/${SERVICE}-calls`,
    );
  });

  it("marks no output secret (none carries one)", () => {
    for (const [key, output] of Object.entries(run.outputs)) assert.equal(output.secret, false, key);
  });
});

describe("program shape", () => {
  it("is composed of one component per concern", () => {
    const components = run.resources
      .filter((r) => r.type.startsWith("exotel-bridge:infra:"))
      .map((r) => r.type);
    assert.deepEqual([...new Set(components)].sort(), [
      "exotel-bridge:infra:BridgeImage",
      "exotel-bridge:infra:BridgeSecrets",
      "exotel-bridge:infra:BridgeService",
      "exotel-bridge:infra:CallLogs",
      "exotel-bridge:infra:Monitoring",
      "exotel-bridge:infra:ProjectApis",
      "exotel-bridge:infra:RuntimeIdentity",
    ]);
  });

  it("asks Google only for the deployer's client config", () => {
    assert.deepEqual(
      [...new Set(run.invokes.map((i) => i.token))],
      ["gcp:organizations/getClientConfig:getClientConfig"],
    );
  });

  it("points Pulumi at this program", () => {
    const repoRoot = path.resolve(__dirname, "..", "..");
    const pulumiYaml = fs.readFileSync(path.join(repoRoot, "Pulumi.yaml"), "utf8");
    assert.match(pulumiYaml, /^name: exotel-bridge$/m);
    assert.match(pulumiYaml, /^main: infra\/$/m);
    const pkg = JSON.parse(fs.readFileSync(path.join(repoRoot, "infra", "package.json"), "utf8"));
    assert.equal(pkg.type, "commonjs");
    assert.ok(fs.existsSync(path.join(repoRoot, "infra", pkg.main)));
  });
});
