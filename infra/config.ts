// The only place that reads stack configuration. Every value is validated here, every problem is
// reported at once (one line each, naming the key), and the result is frozen. Defaults carry their
// reason next to them. Keys live under the project namespace (`exotel-bridge:<key>`) except the
// provider's own `gcp:project` and `gcp:region`.
import { readFileSync } from "node:fs";
import { isIP } from "node:net";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import type { AlertThresholds } from "./lib/alerts";

/** ElevenLabs host selection understood by the bridge (`ELEVENLABS_REGION`). */
export const ELEVENLABS_REGIONS = ["default", "us", "eu", "india", "singapore"] as const;
export type ElevenlabsRegion = (typeof ELEVENLABS_REGIONS)[number];

/** Sample rates Exotel's Voicebot applet accepts in the `sample-rate` query parameter. */
export const EXOTEL_SAMPLE_RATES = [8000, 16000, 24000] as const;

/** pino levels the bridge accepts in `LOG_LEVEL`. */
export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

/** `LOG_CALLER_NUMBERS` values the bridge accepts (app/src/privacy.ts). */
export const CALLER_NUMBER_LOG_MODES = ["masked", "full"] as const;

/** `LOG_TRANSCRIPTS` values the bridge accepts (app/src/privacy.ts). */
export const TRANSCRIPT_LOG_MODES = ["off", "summary", "lines"] as const;

/** What the log sink routes to the call-log bucket. */
export const LOG_ROUTINGS = ["summaries", "all"] as const;

/** Where per-call state lives: one instance's memory, or Memorystore for Redis. */
export const STATE_STORES = ["memory", "redis"] as const;
export type StateStoreKind = (typeof STATE_STORES)[number];

/** Memorystore tiers: BASIC (one node) or STANDARD_HA (replica with automatic failover). */
export const REDIS_TIERS = ["BASIC", "STANDARD_HA"] as const;
export type RedisTier = (typeof REDIS_TIERS)[number];
export type LogRouting = (typeof LOG_ROUTINGS)[number];

/** Cloud Run CPU values we allow (whole vCPUs: fractional CPU forces concurrency 1). */
export const CPU_VALUES = ["1", "2", "4", "6", "8"] as const;

/** Cloud Run gives an instance 10 s between SIGTERM and SIGKILL; the drain must finish inside it. */
export const CLOUD_RUN_SIGTERM_GRACE_MS = 10_000;

/** One call is one WebSocket request, and Cloud Run's maximum request timeout is 60 minutes. */
export const REQUEST_TIMEOUT_SECONDS = 3600;

/** Call-control credentials: Pulumi secret config key -> the bridge variable it feeds. */
export const CALL_CONTROL_SECRETS = {
  callsApiToken: "CALLS_API_TOKEN",
  exotelApiKey: "EXOTEL_API_KEY",
  exotelApiToken: "EXOTEL_API_TOKEN",
  exotelWebhookToken: "EXOTEL_WEBHOOK_TOKEN",
} as const;

/**
 * Bridge variables `bridgeEnv` may not set on Cloud Run, with the reason. Every request reaches the
 * container through Google's front end, so an address rule for /metrics cannot tell a scraper from
 * anyone on the internet (and this stack runs no collector inside the instance): the admin token is
 * the way in.
 */
export const REFUSED_ENV: Readonly<Record<string, string>> = {
  METRICS_ALLOWED_CIDRS:
    "cannot tell a scraper from the public behind Cloud Run's front end; set adminToken and scrape with it",
};

/** One credential the stack takes from Pulumi secret config and hands the bridge through Secret Manager. */
export interface ManagedSecret {
  /** The bridge variable it becomes (and, in kebab case, the secret's id suffix). */
  readonly env: string;
  /** What a value must match (the bridge's own rule), so a revision that could never start is refused here. */
  readonly shape?: string;
  /** Said after the key when the shape does not match; never the value. */
  readonly problem?: string;
}

/**
 * Every credential the stack manages, by config key. JSON rather than TypeScript so that
 * scripts/rotate-secret.sh reads the same list: a key added here can be rotated at once, and the two
 * can never disagree about which keys exist or what shape their values take.
 */
export const MANAGED_SECRETS: Readonly<Record<string, ManagedSecret>> = JSON.parse(
  readFileSync(path.join(__dirname, "managed-secrets.json"), "utf8"),
);

/** Variables the stack sets itself: `bridgeEnv` may not set them. */
export const MANAGED_ENV = new Set([
  "PORT",
  "ELEVENLABS_API_KEY",
  "ELEVENLABS_AGENT_ID",
  "ELEVENLABS_REGION",
  "ELEVENLABS_ALLOWED_AGENT_IDS",
  "EXOTEL_BASIC_AUTH",
  "EXOTEL_ALLOWED_CIDRS",
  "TRUSTED_PROXY_HOPS",
  "LOG_LEVEL",
  "MAX_CONCURRENT_CALLS",
  "DRAIN_TIMEOUT_MS",
  "REDIS_URL",
  "REDIS_CA_CERT",
  "RECORDINGS_BUCKET",
  "ROUTING_TABLE",
  "ELEVENLABS_WEBHOOK_SECRET",
  "CONSOLE_ENABLED",
  "LOG_CALLER_NUMBERS",
  "LOG_TRANSCRIPTS",
  "LOG_FORMAT",
  ...Object.values(CALL_CONTROL_SECRETS),
  ...Object.values(MANAGED_SECRETS).map((s) => s.env),
]);

export interface SecretValues {
  /** ElevenLabs API key: a signed URL is fetched per call when it is set. */
  elevenlabsApiKey: pulumi.Output<string>;
  /** Default agent id (kept in Secret Manager with the key so that both rotate the same way). */
  elevenlabsAgentId: pulumi.Output<string>;
  /** `key:token` for HTTP Basic auth on the Exotel upgrade; absent = no auth. */
  exotelBasicAuth?: pulumi.Output<string>;
  /** ElevenLabs post-call webhook signing secret (ELEVENLABS_WEBHOOK_SECRET); absent = no webhook route. */
  elevenlabsWebhookSecret?: pulumi.Output<string>;
  /** Bearer token for /metrics and /health/details (ADMIN_TOKEN); absent = nobody gets them. */
  adminToken?: pulumi.Output<string>;
  /** `user:password` for the live call console (CONSOLE_BASIC_AUTH). */
  consoleBasicAuth?: pulumi.Output<string>;
  /** Call-control credentials that are set, keyed by the bridge variable (CALLS_API_TOKEN...). */
  callControl: Readonly<Record<string, pulumi.Output<string>>>;
}

export interface BridgeConfig {
  readonly project: string;
  readonly region: string;
  readonly stack: string;
  readonly serviceName: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly secrets: SecretValues;
  readonly elevenlabsRegion: ElevenlabsRegion;
  readonly allowedAgentIds?: string;
  readonly exotelAllowedCidrs?: string;
  readonly sampleRate?: number;
  readonly logLevel: string;
  /** What the bridge's logs may hold about callers (LOG_CALLER_NUMBERS, LOG_TRANSCRIPTS). */
  readonly privacy: {
    readonly callerNumbers: (typeof CALLER_NUMBER_LOG_MODES)[number];
    readonly transcripts: (typeof TRANSCRIPT_LOG_MODES)[number];
  };
  /** Live call console at /console (CONSOLE_ENABLED). */
  readonly console: {
    readonly enabled: boolean;
    /** On and with a credential (its own, or Exotel's on a non-production stack): /console answers. */
    readonly reachable: boolean;
  };
  /** Calls per instance (MAX_CONCURRENT_CALLS). */
  readonly concurrency: number;
  /** Cloud Run's per-instance request limit: the calls plus headroom for health checks and callbacks. */
  readonly requestConcurrency: number;
  /** A production stack refuses to run open (no Basic auth and no allow-list). */
  readonly production: boolean;
  /** Public through Cloud Run's "invoker IAM check disabled" instead of an allUsers binding. */
  readonly invokerIamDisabled: boolean;
  readonly minInstances: number;
  readonly maxInstances: number;
  readonly cpu: string;
  readonly memory: string;
  readonly drainTimeoutMs: number;
  readonly deletionProtection: boolean;
  readonly image: {
    readonly contextDir: string;
    readonly dockerfile: string;
    readonly tag: string;
    readonly keepVersions: number;
    readonly deleteAfterDays: number;
  };
  readonly logs: {
    readonly routing: LogRouting;
    readonly retentionDays: number;
    readonly analytics: boolean;
    /** BigQuery dataset id linked to the call-log bucket; absent = none (or analytics off). */
    readonly linkedDatasetId?: string;
    /** Call records are excluded from the _Default bucket (stored once, in their own bucket). */
    readonly excludeFromDefault: boolean;
  };
  /** Log-based metrics, dashboard and alert policies; absent = `monitoring: false`. */
  readonly monitoring?: {
    readonly alertEmail?: string;
    readonly thresholds: AlertThresholds;
  };
  /** Call recordings bucket (RECORDINGS_BUCKET); absent = no recordings. */
  readonly recordings?: {
    readonly bucketName: string;
    readonly retentionDays: number;
  };
  /** Extra plain bridge variables (TRANSFER_NUMBERS, PUBLIC_BASE_URL, EXOTEL_CALLER_ID...). */
  readonly bridgeEnv: Readonly<Record<string, string>>;
  /** The routing table as JSON text (ROUTING_TABLE), when `routingTable` is set. */
  readonly routingTable?: string;
  /** Shared call state (REDIS_URL) for transfers, outbound calls and dynamic URLs across instances. */
  readonly state: {
    readonly store: StateStoreKind;
    readonly redisTier: RedisTier;
    readonly redisMemoryGb: number;
    /** Memorystore in-transit encryption (TLS, server authentication by the instance's CA). */
    readonly redisTls: boolean;
    /** Subnet for Cloud Run's Direct VPC egress. */
    readonly subnetCidr: string;
  };
}

/** Thrown with every configuration problem listed, one per line. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid stack configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

// Values the committed Pulumi.<stack>.yaml files carry until a user fills them in.
const PLACEHOLDER = /^(your-|replace[-_]?me|changeme|<)/i;

export function loadConfig(): BridgeConfig {
  const problems: string[] = [];
  const gcp = new pulumi.Config("gcp");
  const cfg = new pulumi.Config();
  const stack = pulumi.getStack();

  const project = gcp.get("project") ?? "";
  if (project === "") problems.push("gcp:project is required (the Google Cloud project id to deploy into)");
  else if (PLACEHOLDER.test(project)) problems.push(`gcp:project is still the placeholder "${project}"`);

  // asia-south1 (Mumbai) is nearest to Exotel's media servers, so the audio path stays short.
  const region = gcp.get("region") ?? "asia-south1";

  // One service per stack, so dev and prod can share a project.
  const serviceName = cfg.get("serviceName") ?? `exotel-bridge-${stack}`;
  // The runtime service account id is `<serviceName>-run` and must fit in 30 characters.
  if (!/^[a-z][a-z0-9-]{4,24}[a-z0-9]$/.test(serviceName)) {
    problems.push(
      `exotel-bridge:serviceName "${serviceName}" must be 6-26 characters of a-z, 0-9 and "-", ` +
        "starting with a letter (set it explicitly when the stack name is long)",
    );
  }

  const agentId = cfg.get("elevenlabsAgentId");
  if (agentId === undefined || agentId === "") {
    problems.push("exotel-bridge:elevenlabsAgentId is required (the default ElevenLabs agent id)");
  } else if (PLACEHOLDER.test(agentId)) {
    problems.push(`exotel-bridge:elevenlabsAgentId is still the placeholder "${agentId}"`);
  }
  const apiKey = cfg.getSecret("elevenlabsApiKey");
  if (apiKey === undefined) {
    problems.push(
      "exotel-bridge:elevenlabsApiKey is required: pulumi config set --secret elevenlabsApiKey <key>",
    );
  }
  // The bridge validates these at start-up too; checking here stops a revision that could never start.
  // Problems name the key only, never the value.
  for (const [key, spec] of Object.entries(MANAGED_SECRETS)) {
    const raw = cfg.get(key);
    if (raw !== undefined && spec.shape !== undefined && !new RegExp(spec.shape).test(raw)) {
      problems.push(`exotel-bridge:${key} ${spec.problem ?? "has the wrong shape"}`);
    }
  }
  const basicAuth = cfg.getSecret("exotelBasicAuth");

  const elevenlabsRegion = cfg.get("elevenlabsRegion") ?? "default"; // the bridge's own default
  if (!(ELEVENLABS_REGIONS as readonly string[]).includes(elevenlabsRegion)) {
    problems.push(`exotel-bridge:elevenlabsRegion must be one of ${ELEVENLABS_REGIONS.join(", ")}`);
  }

  const allowedAgentIds = cfg.get("elevenlabsAllowedAgentIds"); // unset: calls use the default agent only

  // Unset: any caller address may open a stream (Basic auth still applies). Exotel publishes the
  // addresses its media servers connect from; listing them here closes /media to everyone else.
  const exotelAllowedCidrs = cfg.get("exotelAllowedCidrs");
  const badCidrs = (exotelAllowedCidrs ?? "")
    .split(",")
    .map((c) => c.trim())
    .filter((c) => c !== "" && !isCidr(c));
  if (badCidrs.length > 0) {
    problems.push(`exotel-bridge:exotelAllowedCidrs has invalid ranges: ${badCidrs.join(" ")}`);
  }

  // Unset: the URL carries no sample-rate and Exotel streams its default 8 kHz.
  const sampleRate = readInt(cfg, "sampleRate", undefined, problems);
  if (sampleRate !== undefined && !(EXOTEL_SAMPLE_RATES as readonly number[]).includes(sampleRate)) {
    problems.push(`exotel-bridge:sampleRate must be one of ${EXOTEL_SAMPLE_RATES.join(", ")}`);
  }

  const logLevel = cfg.get("logLevel") ?? "info"; // per-call summaries and lifecycle, no per-frame noise
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    problems.push(`exotel-bridge:logLevel must be one of ${LOG_LEVELS.join(", ")}`);
  }

  // 80 calls per instance: at the bridge's measured ~1.5-4.5 ms CPU per call-second that is under
  // half of one vCPU, which leaves headroom for real-time pacing. The same number becomes
  // MAX_CONCURRENT_CALLS.
  const concurrency = readInt(cfg, "concurrency", 80, problems);
  inRange("concurrency", concurrency, 1, 1000, problems);
  // Cloud Run counts every request against the per-instance limit, not just calls: health checks,
  // /metrics and Exotel's HTTP callbacks too. Were the limit equal to the call limit, a full instance
  // would never receive call N+1 (so the bridge's own 503 could never fire) and those small requests
  // would queue behind calls. A quarter more (at least 10) keeps them flowing and lets the bridge
  // answer the extra call with its 503 at once.
  const headroom = readInt(cfg, "requestHeadroom", Math.max(10, Math.ceil(concurrency / 4)), problems);
  inRange("requestHeadroom", headroom, 1, 999, problems);
  const requestConcurrency = concurrency + headroom;
  if (requestConcurrency > 1000) {
    problems.push("exotel-bridge:concurrency + requestHeadroom must not exceed 1000 (Cloud Run's maximum)");
  }
  // One warm instance: a cold start would add seconds of silence to the first call.
  const minInstances = readInt(cfg, "minInstances", 1, problems);
  inRange("minInstances", minInstances, 0, 100, problems);
  // Ten instances x 80 calls = 800 concurrent calls before Cloud Run refuses.
  const maxInstances = readInt(cfg, "maxInstances", 10, problems);
  inRange("maxInstances", maxInstances, 1, 1000, problems);
  if (maxInstances < minInstances) {
    problems.push("exotel-bridge:maxInstances must be at least minInstances");
  }
  const cpu = cfg.get("cpu") ?? "1"; // one vCPU; Node runs the audio path on one thread anyway
  if (!(CPU_VALUES as readonly string[]).includes(cpu)) {
    problems.push(`exotel-bridge:cpu must be one of ${CPU_VALUES.join(", ")} (whole vCPUs)`);
  }
  const memory = cfg.get("memory") ?? "512Mi"; // ~0.3 MB per call, the rest is Node's baseline
  if (!/^[1-9][0-9]*(Mi|Gi)$/.test(memory)) {
    problems.push('exotel-bridge:memory must look like "512Mi" or "1Gi"');
  }
  // 8 s: the bridge's default; it fits inside Cloud Run's 10 s SIGTERM grace with time to exit.
  const drainTimeoutMs = readInt(cfg, "drainTimeoutMs", 8000, problems);
  inRange("drainTimeoutMs", drainTimeoutMs, 0, CLOUD_RUN_SIGTERM_GRACE_MS - 1000, problems);
  // Off by default so that `pulumi destroy` works on a dev stack; Pulumi.prod.yaml turns it on.
  const deletionProtection = cfg.getBoolean("deletionProtection") ?? false;

  // The service is public (Exotel cannot send Google identity tokens), so a production stack must
  // close /media itself: Exotel's Basic auth, or the allow-list of Exotel's addresses, or both.
  // A stack named prod... is production unless it says otherwise.
  const production = cfg.getBoolean("production") ?? /^prod/i.test(stack);
  if (production && basicAuth === undefined && (exotelAllowedCidrs ?? "").trim() === "") {
    problems.push(
      "a production stack must not run open: set exotel-bridge:exotelBasicAuth " +
        "(pulumi config set --secret exotelBasicAuth key:token) or exotel-bridge:exotelAllowedCidrs, or both",
    );
  }
  // Unset: /metrics and /health/details are refused to everyone (/health stays public and bare).
  const adminToken = cfg.getSecret("adminToken");
  // The console shows live transcripts and callers' numbers. Without a credential of its own the
  // bridge falls back to EXOTEL_BASIC_AUTH, which is written into the Exotel applet's stream URL and
  // so known to everyone who can open the Exotel flow: fine for a developer's stack, not for
  // production. So production leaves the console off (CONSOLE_ENABLED=false) unless consoleBasicAuth
  // is set, and refuses to turn it on with Exotel's credential.
  const consoleBasicAuth = cfg.getSecret("consoleBasicAuth");
  const consoleEnabled = cfg.getBoolean("consoleEnabled") ?? (consoleBasicAuth !== undefined || !production);
  if (production && consoleEnabled && consoleBasicAuth === undefined) {
    problems.push(
      "exotel-bridge:consoleEnabled needs exotel-bridge:consoleBasicAuth on a production stack " +
        "(pulumi config set --secret consoleBasicAuth user:password): Exotel's credential is shared with Exotel",
    );
  }
  // The bridge's own defaults: numbers masked, no transcript text. Whatever is logged lands in the
  // call-log bucket for logRetentionDays, so widening either is a decision about personal data.
  const logCallerNumbers = cfg.get("logCallerNumbers") ?? "masked";
  if (!(CALLER_NUMBER_LOG_MODES as readonly string[]).includes(logCallerNumbers)) {
    problems.push(`exotel-bridge:logCallerNumbers must be one of ${CALLER_NUMBER_LOG_MODES.join(", ")}`);
  }
  const logTranscripts = cfg.get("logTranscripts") ?? "off";
  if (!(TRANSCRIPT_LOG_MODES as readonly string[]).includes(logTranscripts)) {
    problems.push(`exotel-bridge:logTranscripts must be one of ${TRANSCRIPT_LOG_MODES.join(", ")}`);
  }

  // For organisations whose policy (domain restricted sharing) forbids allUsers bindings: Google's
  // recommended way to make a service public is to disable the invoker IAM check instead.
  const invokerIamDisabled = cfg.getBoolean("invokerIamDisabled") ?? false;

  const imageTag = cfg.get("imageTag") ?? "latest"; // the service pins the digest, the tag is cosmetic
  if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(imageTag)) {
    problems.push("exotel-bridge:imageTag is not a valid Docker tag");
  }
  const keepVersions = readInt(cfg, "imageKeepVersions", 10, problems); // room for ten rollbacks
  inRange("imageKeepVersions", keepVersions, 1, 1000, problems);
  const deleteAfterDays = readInt(cfg, "imageDeleteAfterDays", 30, problems); // older images cost storage
  inRange("imageDeleteAfterDays", deleteAfterDays, 1, 3650, problems);

  // Only the call summaries by default: they are the per-call record worth keeping; the full
  // service log stays in the project's _Default bucket (30 days) for debugging.
  const routing = cfg.get("logRouting") ?? "summaries";
  if (!(LOG_ROUTINGS as readonly string[]).includes(routing)) {
    problems.push(`exotel-bridge:logRouting must be one of ${LOG_ROUTINGS.join(", ")}`);
  }
  const retentionDays = readInt(cfg, "logRetentionDays", 90, problems); // a quarter of call history
  inRange("logRetentionDays", retentionDays, 1, 3650, problems);
  // Log Analytics lets users query the summaries with SQL at no extra cost (cannot be undone).
  const analytics = cfg.getBoolean("logAnalytics") ?? true;

  // BigQuery dataset ids allow letters, digits and underscores only.
  const linkedDatasetId = cfg.get("logLinkedDataset") ?? `${serviceName.replace(/-/g, "_")}_calls`;
  if (linkedDatasetId !== "" && !/^[A-Za-z0-9_]{1,100}$/.test(linkedDatasetId)) {
    problems.push(
      'exotel-bridge:logLinkedDataset must be a BigQuery dataset id (letters, digits, "_"), or "" for none',
    );
  }
  // On: phone numbers and transcripts are stored once, in the call-log bucket with its own retention.
  const excludeFromDefault = cfg.getBoolean("logExcludeFromDefault") ?? true;

  // On by default: an operator should see calls, latency and failures without writing a query.
  const monitoring = cfg.getBoolean("monitoring") ?? true;
  const alertEmail = cfg.get("alertEmail"); // unset: incidents open in the console, nobody is emailed
  if (alertEmail !== undefined && alertEmail !== "" && !/^[^\s@,]+@[^\s@,]+\.[^\s@,]+$/.test(alertEmail)) {
    problems.push("exotel-bridge:alertEmail must be one email address");
  }
  // One call in five failing to reach the agent over 10 minutes is an outage, not noise.
  const connectFailurePercent = readInt(cfg, "alertConnectFailurePercent", 20, problems);
  inRange("alertConnectFailurePercent", connectFailurePercent, 1, 100, problems);
  // Five error endings in 5 minutes: more than a single bad call, fewer than a full outage.
  const errorEndings = readInt(cfg, "alertErrorEndings", 5, problems);
  inRange("alertErrorEndings", errorEndings, 1, 100_000, problems);
  // 80% CPU: above that, real-time pacing on a loaded instance starts to slip.
  const cpuPercent = readInt(cfg, "alertCpuPercent", 80, problems);
  inRange("alertCpuPercent", cpuPercent, 1, 100, problems);
  // 85% memory: Cloud Run kills an instance (and its calls) at 100%.
  const memoryPercent = readInt(cfg, "alertMemoryPercent", 85, problems);
  inRange("alertMemoryPercent", memoryPercent, 1, 100, problems);
  const webhookSecret = cfg.getSecret("elevenlabsWebhookSecret");

  // Off by default: recording calls is a decision (consent, storage) a deployment makes explicitly.
  const recordings = cfg.getBoolean("recordings") ?? false;
  // Three months of recordings, then Cloud Storage deletes them.
  const recordingsRetentionDays = readInt(cfg, "recordingsRetentionDays", 90, problems);
  inRange("recordingsRetentionDays", recordingsRetentionDays, 1, 3650, problems);
  // Bucket names are global: the project id makes the default unique.
  const recordingsBucket = cfg.get("recordingsBucket") ?? `${project}-${serviceName}-rec`;
  if (recordings && !/^[a-z0-9][a-z0-9_-]{1,61}[a-z0-9]$/.test(recordingsBucket)) {
    problems.push(
      `exotel-bridge:recordingsBucket "${recordingsBucket}" must be 3-63 characters of a-z, 0-9, "-" and "_" ` +
        "(set it explicitly when the default is too long)",
    );
  }
  // Memory by default (one instance is enough for a dev stack); with more than one instance
  // Exotel's Passthru/Connect requests can land on an instance that did not hold the call, so
  // production stacks set "redis".
  const stateStore = cfg.get("stateStore") ?? "memory";
  if (!(STATE_STORES as readonly string[]).includes(stateStore)) {
    problems.push(`exotel-bridge:stateStore must be one of ${STATE_STORES.join(", ")}`);
  }
  const redisTier = cfg.get("redisTier") ?? "BASIC"; // one node: state is minutes long and rebuildable
  if (!(REDIS_TIERS as readonly string[]).includes(redisTier)) {
    problems.push(`exotel-bridge:redisTier must be one of ${REDIS_TIERS.join(", ")}`);
  }
  const redisMemoryGb = readInt(cfg, "redisMemoryGb", 1, problems); // the smallest; calls need kilobytes
  inRange("redisMemoryGb", redisMemoryGb, 1, 300, problems);
  // TLS by default: call state holds phone numbers. Memorystore fixes this at creation, so changing
  // it replaces the instance (its keys are minutes-long call state, rebuilt by the next calls).
  const redisTls = cfg.getBoolean("redisTls") ?? true;
  // A /24: 256 addresses, room for Direct VPC egress at the default maxInstances (two per instance).
  const subnetCidr = cfg.get("vpcSubnetCidr") ?? "10.8.0.0/24";
  const cidr = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(subnetCidr);
  if (
    cidr === null ||
    cidr.slice(1, 5).some((o) => Number(o) > 255) ||
    Number(cidr[5]) < 16 ||
    Number(cidr[5]) > 26
  ) {
    problems.push(`exotel-bridge:vpcSubnetCidr "${subnetCidr}" must be an IPv4 range from /16 to /26`);
  }

  // Call control: plain variables pass through `bridgeEnv`; credentials have secret keys.
  const bridgeEnv: Record<string, string> = {};
  let rawEnv: unknown;
  try {
    rawEnv = cfg.getObject<unknown>("bridgeEnv");
  } catch {
    problems.push("exotel-bridge:bridgeEnv must be an object of NAME: value");
  }
  if (rawEnv !== undefined && (rawEnv === null || typeof rawEnv !== "object" || Array.isArray(rawEnv))) {
    problems.push("exotel-bridge:bridgeEnv must be an object of NAME: value");
  } else if (rawEnv !== undefined) {
    for (const [name, value] of Object.entries(rawEnv as Record<string, unknown>)) {
      if (!/^[A-Z][A-Z0-9_]{0,63}$/.test(name)) {
        problems.push(`exotel-bridge:bridgeEnv: "${name}" is not an environment variable name`);
      } else if (REFUSED_ENV[name] !== undefined) {
        problems.push(`exotel-bridge:bridgeEnv: ${name} ${REFUSED_ENV[name]}`);
      } else if (MANAGED_ENV.has(name)) {
        problems.push(`exotel-bridge:bridgeEnv: ${name} is set by the stack itself (use its own config key)`);
      } else if (/KEY|TOKEN|SECRET|PASSWORD|AUTH/.test(name)) {
        // Plain env lands in the service spec in clear text: credentials go through Secret Manager.
        problems.push(
          `exotel-bridge:bridgeEnv: ${name} looks like a credential; set it as a secret key instead`,
        );
      } else if (!["string", "number", "boolean"].includes(typeof value)) {
        problems.push(`exotel-bridge:bridgeEnv: ${name} must be a string, number or boolean`);
      } else {
        bridgeEnv[name] = String(value);
      }
    }
  }
  let routingTable: string | undefined;
  try {
    const table = cfg.getObject<unknown>("routingTable");
    if (table !== undefined) routingTable = JSON.stringify(table); // validated by the bridge at start-up
  } catch {
    problems.push("exotel-bridge:routingTable must be a YAML/JSON object ({routes: [...]})");
  }
  const callControl: Record<string, pulumi.Output<string>> = {};
  for (const [key, envName] of Object.entries(CALL_CONTROL_SECRETS)) {
    const value = cfg.getSecret(key);
    if (value !== undefined) callControl[envName] = value;
  }

  // The bridge refuses to start when call control is on and its /exotel/* routes (transfer numbers,
  // transfer decisions, stream URLs) would have no credential: refuse that here, before a revision that
  // could never start.
  const callControlUses = [
    ...(stateStore === "redis" ? ["stateStore redis (REDIS_URL)"] : []),
    ...(routingTable !== undefined ? ["routingTable"] : []),
    ...(callControl.CALLS_API_TOKEN !== undefined ? ["callsApiToken"] : []),
    ...["TRANSFER_NUMBERS", "TRANSFER_ON_FAILURE", "PUBLIC_BASE_URL"]
      .filter((n) => bridgeEnv[n] !== undefined && bridgeEnv[n] !== "false")
      .map((n) => `bridgeEnv ${n}`),
  ];
  if (
    callControlUses.length > 0 &&
    basicAuth === undefined &&
    callControl.EXOTEL_WEBHOOK_TOKEN === undefined
  ) {
    problems.push(
      `exotel-bridge:exotelWebhookToken (or exotelBasicAuth) is required with ${callControlUses.join(", ")}: ` +
        "call control's /exotel/* routes always need a credential (pulumi config set --secret exotelWebhookToken)",
    );
  }

  if (problems.length > 0) throw new ConfigError(problems);

  const secrets: SecretValues = {
    callControl,
    // biome-ignore lint/style/noNonNullAssertion: checked above, problems would have thrown
    elevenlabsApiKey: apiKey!,
    // Read as a secret so that it never shows in plaintext in previews or outputs.
    elevenlabsAgentId: pulumi.secret(agentId as string),
  };
  if (basicAuth !== undefined) secrets.exotelBasicAuth = basicAuth;
  if (webhookSecret !== undefined) secrets.elevenlabsWebhookSecret = webhookSecret;
  if (adminToken !== undefined) secrets.adminToken = adminToken;
  if (consoleBasicAuth !== undefined) secrets.consoleBasicAuth = consoleBasicAuth;

  const repoRoot = path.resolve(__dirname, "..");
  return deepFreeze({
    project,
    region,
    stack,
    serviceName,
    labels: { app: "exotel-bridge", stack: stack.toLowerCase().replace(/[^a-z0-9_-]/g, "-") },
    secrets,
    elevenlabsRegion: elevenlabsRegion as ElevenlabsRegion,
    ...(allowedAgentIds !== undefined && allowedAgentIds !== "" ? { allowedAgentIds } : {}),
    ...(exotelAllowedCidrs !== undefined && exotelAllowedCidrs.trim() !== "" ? { exotelAllowedCidrs } : {}),
    ...(sampleRate !== undefined ? { sampleRate } : {}),
    logLevel,
    privacy: {
      callerNumbers: logCallerNumbers as (typeof CALLER_NUMBER_LOG_MODES)[number],
      transcripts: logTranscripts as (typeof TRANSCRIPT_LOG_MODES)[number],
    },
    console: {
      enabled: consoleEnabled,
      reachable: consoleEnabled && (consoleBasicAuth !== undefined || basicAuth !== undefined),
    },
    concurrency,
    requestConcurrency,
    production,
    invokerIamDisabled,
    minInstances,
    maxInstances,
    cpu,
    memory,
    drainTimeoutMs,
    deletionProtection,
    image: {
      // The Docker build context is app/ alone: the Dockerfile must not need anything above it.
      contextDir: path.join(repoRoot, "app"),
      dockerfile: path.join(repoRoot, "app", "Dockerfile"),
      tag: imageTag,
      keepVersions,
      deleteAfterDays,
    },
    logs: {
      routing: routing as LogRouting,
      retentionDays,
      analytics,
      ...(analytics && linkedDatasetId !== "" ? { linkedDatasetId } : {}),
      excludeFromDefault,
    },
    ...(monitoring
      ? {
          monitoring: {
            ...(alertEmail !== undefined && alertEmail !== "" ? { alertEmail } : {}),
            thresholds: { connectFailurePercent, errorEndings, cpuPercent, memoryPercent },
          },
        }
      : {}),
    ...(recordings
      ? { recordings: { bucketName: recordingsBucket, retentionDays: recordingsRetentionDays } }
      : {}),
    bridgeEnv,
    ...(routingTable !== undefined ? { routingTable } : {}),
    state: {
      store: stateStore as StateStoreKind,
      redisTier: redisTier as RedisTier,
      redisMemoryGb,
      redisTls,
      subnetCidr,
    },
  });
}

function readInt(cfg: pulumi.Config, key: string, fallback: number, problems: string[]): number;
function readInt(
  cfg: pulumi.Config,
  key: string,
  fallback: undefined,
  problems: string[],
): number | undefined;
function readInt(
  cfg: pulumi.Config,
  key: string,
  fallback: number | undefined,
  problems: string[],
): number | undefined {
  const raw = cfg.get(key);
  if (raw === undefined || raw === "") return fallback;
  if (!/^-?[0-9]+$/.test(raw.trim())) {
    problems.push(`exotel-bridge:${key} must be a whole number, got "${raw}"`);
    return fallback;
  }
  return Number.parseInt(raw, 10);
}

/** `a.b.c.d/n`, `v6::/n`, or a bare address. */
function isCidr(value: string): boolean {
  const [address = "", prefix, extra] = value.split("/");
  const family = isIP(address);
  if (family === 0 || extra !== undefined) return false;
  if (prefix === undefined) return true;
  const bits = Number(prefix);
  return /^[0-9]+$/.test(prefix) && bits <= (family === 4 ? 32 : 128);
}

function inRange(key: string, value: number, min: number, max: number, problems: string[]): void {
  if (value < min || value > max) problems.push(`exotel-bridge:${key} must be between ${min} and ${max}`);
}

function deepFreeze<T extends object>(value: T): T {
  for (const inner of Object.values(value)) {
    if (inner !== null && typeof inner === "object" && !pulumi.Output.isInstance(inner)) deepFreeze(inner);
  }
  return Object.freeze(value);
}
