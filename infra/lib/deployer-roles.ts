// What the deployer (CI's service account, or a person) must hold on the project for `pulumi up`
// of a stack to succeed, derived from the features the stack turns on. One place for it, so the
// bootstrap (infra/deployer-roles.ts prints the list), the documentation and the tests agree.
// Each role is the narrowest predefined role Google documents for creating that kind of resource.

/** The stack features that change what the deployer must be able to create. */
export interface DeployerFeatures {
  /** "redis": Memorystore, a VPC network and a subnet for Direct VPC egress. */
  readonly stateStore: "memory" | "redis";
  /** A Cloud Storage bucket for call recordings, with a bucket-level grant. */
  readonly recordings: boolean;
  /** Log-based metrics, dashboard, alert policies and the email notification channel. */
  readonly monitoring: boolean;
}

export interface RoleNeed {
  readonly role: string;
  readonly why: string;
}

/** Needed by every stack. */
export const BASE_ROLES: readonly RoleNeed[] = [
  { role: "roles/serviceusage.serviceUsageAdmin", why: "enable the APIs the stack uses" },
  {
    role: "roles/run.admin",
    why: "the Cloud Run service and its invoker setting (allUsers or invoker check)",
  },
  { role: "roles/artifactregistry.admin", why: "create the Docker repository with cleanup policies; push" },
  { role: "roles/secretmanager.admin", why: "secrets, their versions and per-secret accessor grants" },
  { role: "roles/iam.serviceAccountAdmin", why: "create the runtime service account" },
  { role: "roles/iam.serviceAccountUser", why: "deploy a service that runs as the runtime account" },
  { role: "roles/resourcemanager.projectIamAdmin", why: "the runtime account's project roles" },
  {
    role: "roles/logging.configWriter",
    why: "call-log bucket, sink, _Default exclusion, BigQuery link; with monitoring, the log metrics",
  },
];

export const REDIS_ROLES: readonly RoleNeed[] = [
  { role: "roles/redis.admin", why: "the Memorystore instance (stateStore: redis)" },
  {
    role: "roles/compute.networkAdmin",
    why: "VPC network and subnet for Direct VPC egress, and using that subnet",
  },
];

export const RECORDINGS_ROLES: readonly RoleNeed[] = [
  { role: "roles/storage.admin", why: "the recordings bucket and its bucket-level grant (recordings: true)" },
];

// Log-based metrics and the linked BigQuery dataset are logging config (roles/logging.configWriter,
// already in the base set; creating the link needs logging.links.create, which that role holds; the
// link is made with analytics, whatever `monitoring` says). Enabling bigquery.googleapis.com for it is
// serviceusage, also in the base set.
export const MONITORING_ROLES: readonly RoleNeed[] = [
  { role: "roles/monitoring.alertPolicyEditor", why: "alert policies (monitoring)" },
  { role: "roles/monitoring.dashboardEditor", why: "the dashboard (monitoring)" },
  { role: "roles/monitoring.notificationChannelEditor", why: "the notification channel (monitoring)" },
];

export function deployerRoles(f: DeployerFeatures): RoleNeed[] {
  return [
    ...BASE_ROLES,
    ...(f.stateStore === "redis" ? REDIS_ROLES : []),
    ...(f.recordings ? RECORDINGS_ROLES : []),
    ...(f.monitoring ? MONITORING_ROLES : []),
  ];
}

/**
 * The features a Pulumi.<stack>.yaml turns on (its `config:` map). Values may be YAML booleans or
 * the strings `pulumi config set` writes. Defaults match infra/config.ts.
 */
export function featuresFromStackConfig(config: Readonly<Record<string, unknown>>): DeployerFeatures {
  const bool = (key: string, fallback: boolean): boolean => {
    const v = config[`exotel-bridge:${key}`];
    if (v === undefined || v === null || v === "") return fallback;
    return v === true || String(v).toLowerCase() === "true";
  };
  return {
    stateStore: config["exotel-bridge:stateStore"] === "redis" ? "redis" : "memory",
    recordings: bool("recordings", false),
    monitoring: bool("monitoring", true),
  };
}

/**
 * The role that lets the deployer create each kind of resource the program registers, by type
 * prefix; a type missing here fails the program tests until it is taught (and the role granted).
 */
export const ROLE_FOR_TYPE: readonly (readonly [RegExp, string])[] = [
  [/^gcp:projects\/service:/, "roles/serviceusage.serviceUsageAdmin"],
  [/^gcp:cloudrunv2\//, "roles/run.admin"],
  [/^gcp:artifactregistry\//, "roles/artifactregistry.admin"],
  [/^docker-build:/, "roles/artifactregistry.admin"],
  [/^gcp:secretmanager\//, "roles/secretmanager.admin"],
  [/^gcp:serviceaccount\/account:/, "roles/iam.serviceAccountAdmin"],
  [/^gcp:projects\/iAMMember:/, "roles/resourcemanager.projectIamAdmin"],
  [/^gcp:logging\//, "roles/logging.configWriter"],
  [/^gcp:redis\//, "roles/redis.admin"],
  [/^gcp:compute\//, "roles/compute.networkAdmin"],
  [/^gcp:storage\//, "roles/storage.admin"],
  [/^gcp:monitoring\/alertPolicy:/, "roles/monitoring.alertPolicyEditor"],
  [/^gcp:monitoring\/dashboard:/, "roles/monitoring.dashboardEditor"],
  [/^gcp:monitoring\/notificationChannel:/, "roles/monitoring.notificationChannelEditor"],
];

/** The role a resource type needs, or undefined for a type nobody has mapped yet. */
export function roleForType(type: string): string | undefined {
  return ROLE_FOR_TYPE.find(([re]) => re.test(type))?.[1];
}
