// exotel-bridge on Google Cloud: composes one component per concern and exports what a user needs
// to wire Exotel. Run from the repository root (Pulumi.yaml has `main: infra/`); see infra/README.md.
import * as pulumi from "@pulumi/pulumi";
import { ProjectApis, REQUIRED_APIS } from "./components/apis";
import { CallLogs } from "./components/call-logs";
import { BridgeImage } from "./components/image";
import { RuntimeIdentity } from "./components/runtime-identity";
import { BridgeSecrets, type SecretInput } from "./components/secrets";
import { BridgeService } from "./components/service";
import { loadConfig } from "./config";

const cfg = loadConfig();
const project = cfg.project;

const apis = new ProjectApis("apis", { project, services: Object.keys(REQUIRED_APIS) });
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
  ELEVENLABS_REGION: cfg.elevenlabsRegion,
  LOG_LEVEL: cfg.logLevel,
  // Equal to Cloud Run's per-instance concurrency: the bridge refuses call N+1 with a 503 itself.
  MAX_CONCURRENT_CALLS: String(cfg.concurrency),
  DRAIN_TIMEOUT_MS: String(cfg.drainTimeoutMs),
};
if (cfg.allowedAgentIds !== undefined) env.ELEVENLABS_ALLOWED_AGENT_IDS = cfg.allowedAgentIds;
if (cfg.exotelAllowedCidrs !== undefined) {
  env.EXOTEL_ALLOWED_CIDRS = cfg.exotelAllowedCidrs;
  // Cloud Run's front end is the one proxy in front of the container; it appends the caller's
  // address to X-Forwarded-For, so the allow-list must read the last entry, not the socket peer.
  env.TRUSTED_PROXY_HOPS = "1";
}

const service = new BridgeService(
  "bridge",
  {
    project,
    region: cfg.region,
    name: cfg.serviceName,
    image: image.imageRef,
    serviceAccountEmail: identity.email,
    concurrency: cfg.concurrency,
    minInstances: cfg.minInstances,
    maxInstances: cfg.maxInstances,
    cpu: cfg.cpu,
    memory: cfg.memory,
    env,
    secretEnv: secrets.refs,
    deletionProtection: cfg.deletionProtection,
    ...(cfg.sampleRate !== undefined ? { sampleRate: cfg.sampleRate } : {}),
    labels: { ...cfg.labels },
  },
  // The service must not start before its identity can read the secrets it references.
  { dependsOn: [apis, secrets] },
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
  },
  afterApis,
);

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
