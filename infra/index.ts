// exotel-bridge on Google Cloud: composes one component per concern and exports what a user needs
// to wire Exotel. Run from the repository root (Pulumi.yaml has `main: infra/`); see infra/README.md.
import * as pulumi from "@pulumi/pulumi";
import { ProjectApis, REQUIRED_APIS } from "./components/apis";
import { CallLogs } from "./components/call-logs";
import { BridgeImage } from "./components/image";
import { Monitoring } from "./components/monitoring";
import { RECORDINGS_APIS, RecordingsBucket } from "./components/recordings";
import { RuntimeIdentity } from "./components/runtime-identity";
import { BridgeSecrets, type SecretInput } from "./components/secrets";
import { BridgeService } from "./components/service";
import { SHARED_STATE_APIS, SharedState } from "./components/shared-state";
import { loadConfig } from "./config";

const cfg = loadConfig();
const project = cfg.project;

const apis = new ProjectApis("apis", {
  project,
  services: [
    ...Object.keys(REQUIRED_APIS),
    ...(cfg.state.store === "redis" ? Object.keys(SHARED_STATE_APIS) : []),
    ...(cfg.recordings ? Object.keys(RECORDINGS_APIS) : []),
    // The call-log bucket's linked dataset is queried through BigQuery.
    ...(cfg.logs.linkedDatasetId !== undefined ? ["bigquery.googleapis.com"] : []),
  ],
});
// Every other component waits for the APIs (a dependency on a component covers its children).
const afterApis: pulumi.ComponentResourceOptions = { dependsOn: [apis] };

const identity = new RuntimeIdentity(
  "runtime",
  { project, accountId: `${cfg.serviceName}-run`, displayName: `exotel-bridge ${cfg.stack} runtime` },
  afterApis,
);

const secretInputs: SecretInput[] = [
  { envName: "ELEVENLABS_API_KEY", value: cfg.secrets.elevenlabsApiKey },
  { envName: "ELEVENLABS_AGENT_ID", value: cfg.secrets.elevenlabsAgentId },
];
if (cfg.secrets.exotelBasicAuth !== undefined) {
  secretInputs.push({ envName: "EXOTEL_BASIC_AUTH", value: cfg.secrets.exotelBasicAuth });
}

// Shared call state: Memorystore on a private VPC; REDIS_URL carries the AUTH string,
// so it is a secret like the other credentials.
const state =
  cfg.state.store === "redis"
    ? new SharedState(
        "state",
        {
          project,
          region: cfg.region,
          prefix: cfg.serviceName,
          subnetCidr: cfg.state.subnetCidr,
          tier: cfg.state.redisTier,
          memorySizeGb: cfg.state.redisMemoryGb,
          tls: cfg.state.redisTls,
          deletionProtection: cfg.deletionProtection,
          labels: { ...cfg.labels },
        },
        afterApis,
      )
    : undefined;
if (state !== undefined) secretInputs.push({ envName: "REDIS_URL", value: state.redisUrl });
// The CA certificate is public; it rides in Secret Manager only because that is how this stack hands
// the service values known after deployment.
if (state?.caCerts !== undefined) secretInputs.push({ envName: "REDIS_CA_CERT", value: state.caCerts });
for (const [envName, value] of Object.entries(cfg.secrets.callControl)) secretInputs.push({ envName, value });
if (cfg.secrets.elevenlabsWebhookSecret !== undefined) {
  secretInputs.push({ envName: "ELEVENLABS_WEBHOOK_SECRET", value: cfg.secrets.elevenlabsWebhookSecret });
}
if (cfg.secrets.adminToken !== undefined) {
  secretInputs.push({ envName: "ADMIN_TOKEN", value: cfg.secrets.adminToken });
}
if (cfg.secrets.consoleBasicAuth !== undefined) {
  secretInputs.push({ envName: "CONSOLE_BASIC_AUTH", value: cfg.secrets.consoleBasicAuth });
}

// Call recordings: a private bucket the runtime identity may only create objects in.
const recordings =
  cfg.recordings !== undefined
    ? new RecordingsBucket(
        "recordings",
        {
          project,
          location: cfg.region,
          bucketName: cfg.recordings.bucketName,
          retentionDays: cfg.recordings.retentionDays,
          writerMember: identity.member,
          deletionProtection: cfg.deletionProtection,
          labels: { ...cfg.labels },
        },
        afterApis,
      )
    : undefined;
const secrets = new BridgeSecrets(
  "secrets",
  {
    project,
    location: cfg.region,
    prefix: cfg.serviceName,
    secrets: secretInputs,
    accessorMember: identity.member,
    deletionProtection: cfg.deletionProtection,
    labels: { ...cfg.labels },
  },
  afterApis,
);

const image = new BridgeImage(
  "bridge",
  {
    project,
    region: cfg.region,
    repositoryId: cfg.serviceName,
    imageName: "bridge",
    tag: cfg.image.tag,
    contextDir: cfg.image.contextDir,
    dockerfile: cfg.image.dockerfile,
    keepVersions: cfg.image.keepVersions,
    deleteAfterDays: cfg.image.deleteAfterDays,
    labels: { ...cfg.labels },
  },
  afterApis,
);

const env: Record<string, string> = {
  // Call control's plain settings first; none of them may be a name the stack sets (config.ts).
  ...cfg.bridgeEnv,
  ELEVENLABS_REGION: cfg.elevenlabsRegion,
  LOG_LEVEL: cfg.logLevel,
  // Below Cloud Run's per-instance request limit (requestConcurrency): the bridge refuses call N+1
  // with a 503 itself, and health checks and callbacks still get through.
  MAX_CONCURRENT_CALLS: String(cfg.concurrency),
  DRAIN_TIMEOUT_MS: String(cfg.drainTimeoutMs),
  // Stated even where it is the bridge's default, so the service spec says what its logs may hold.
  LOG_CALLER_NUMBERS: cfg.privacy.callerNumbers,
  LOG_TRANSCRIPTS: cfg.privacy.transcripts,
  // The sink, the exclusion and the log-based metrics all read jsonPayload: never pretty text.
  LOG_FORMAT: "json",
  CONSOLE_ENABLED: String(cfg.console.enabled),
};
if (cfg.allowedAgentIds !== undefined) env.ELEVENLABS_ALLOWED_AGENT_IDS = cfg.allowedAgentIds;
if (cfg.exotelAllowedCidrs !== undefined) {
  env.EXOTEL_ALLOWED_CIDRS = cfg.exotelAllowedCidrs;
  // Cloud Run's front end is the one proxy in front of the container; it appends the caller's
  // address to X-Forwarded-For, so the allow-list must read the last entry, not the socket peer.
  env.TRUSTED_PROXY_HOPS = "1";
}
if (cfg.recordings !== undefined) env.RECORDINGS_BUCKET = cfg.recordings.bucketName;
if (cfg.routingTable !== undefined) env.ROUTING_TABLE = cfg.routingTable;

const service = new BridgeService(
  "bridge",
  {
    project,
    region: cfg.region,
    name: cfg.serviceName,
    image: image.imageRef,
    serviceAccountEmail: identity.email,
    requestConcurrency: cfg.requestConcurrency,
    invokerIamDisabled: cfg.invokerIamDisabled,
    minInstances: cfg.minInstances,
    maxInstances: cfg.maxInstances,
    cpu: cfg.cpu,
    memory: cfg.memory,
    env,
    secretEnv: secrets.refs,
    deletionProtection: cfg.deletionProtection,
    ...(cfg.sampleRate !== undefined ? { sampleRate: cfg.sampleRate } : {}),
    ...(state !== undefined ? { vpcEgress: state.vpc } : {}),
    labels: { ...cfg.labels },
  },
  // The service must not start before its identity can read the secrets it references (and, with
  // recordings, write to the bucket; with Redis, reach it).
  { dependsOn: [apis, secrets, ...(recordings ? [recordings] : []), ...(state ? [state] : [])] },
);

const logs = new CallLogs(
  "call-logs",
  {
    project,
    location: cfg.region,
    bucketId: `${cfg.serviceName}-calls`,
    sinkName: `${cfg.serviceName}-calls`,
    serviceName: cfg.serviceName,
    routing: cfg.logs.routing,
    retentionDays: cfg.logs.retentionDays,
    analytics: cfg.logs.analytics,
    ...(cfg.logs.linkedDatasetId !== undefined ? { linkedDatasetId: cfg.logs.linkedDatasetId } : {}),
    excludeFromDefault: cfg.logs.excludeFromDefault,
  },
  afterApis,
);

// What an operator watches (docs/operations.md): log-based metrics, a dashboard, alert policies.
const monitoring =
  cfg.monitoring !== undefined
    ? new Monitoring(
        "monitoring",
        {
          project,
          serviceName: cfg.serviceName,
          ...(cfg.monitoring.alertEmail !== undefined ? { alertEmail: cfg.monitoring.alertEmail } : {}),
          thresholds: cfg.monitoring.thresholds,
          labels: { ...cfg.labels },
        },
        afterApis,
      )
    : undefined;

/** The service's own URL (`https://...run.app`); `/health` and `/metrics` live under it. */
export const serviceUrl = service.url;
/** Paste into the Exotel Voicebot applet. */
export const exotelStreamUrl = service.streamUrl;
/** The deployed image, pinned by digest. */
export const imageRef = image.imageRef;
/** Where call records are routed (a Cloud Logging bucket) and how they are selected. */
export const logDestination = logs.destination;
export const logBucket = logs.bucketName;
export const logFilter = logs.filter;
export const logReadCommand = logs.readCommand;
export const runtimeServiceAccount = identity.email;
export const secretIds = pulumi.all(secrets.secretIds);
/** `gs://...` where call recordings go, when `recordings` is on. */
export const recordingsBucket = recordings?.url;
/** The Cloud Monitoring dashboard, when `monitoring` is on. */
export const dashboardUrl = monitoring?.dashboardUrl;
/** BigQuery dataset linked to the call-log bucket (`projects/<p>/datasets/<id>`), when there is one. */
export const callsDataset = logs.linkedDataset;
/** Where ElevenLabs' post-call webhook goes (set it in the agent's settings with the same secret). */
export const postCallWebhookUrl =
  cfg.secrets.elevenlabsWebhookSecret !== undefined
    ? service.url.apply((u) => `${u}/webhooks/elevenlabs/post-call`)
    : undefined;
/** The live call console (HTTP Basic auth), when it is on and has a credential. */
export const consoleUrl = cfg.console.reachable ? service.url.apply((u) => `${u}/console`) : undefined;
/** Private address of the Memorystore instance, when `stateStore` is redis. */
export const stateStoreHost = state?.host;
