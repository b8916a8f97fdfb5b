// Secret Manager secrets for the bridge's credentials. Each value comes from a Pulumi config
// secret and becomes a secret version; the Cloud Run service references the exact version number,
// so `pulumi config set --secret ...` + `pulumi up` writes a new version and rolls a new revision
// that reads it. The runtime identity can read exactly these secrets and no others.
//
// A replaced version is not destroyed at once: each secret has a destroy TTL (Secret Manager's
// delayed destruction), so the old version goes to DISABLED for the grace period and is destroyed
// only after it. Until then `gcloud secrets versions enable` brings it back, which is what a
// rollback to the previous revision (pinned to that version) needs.
import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";

export interface SecretInput {
  /** Environment variable the bridge reads the value from (also names the secret). */
  envName: string;
  value: pulumi.Input<string>;
}

export interface BridgeSecretsArgs {
  project: pulumi.Input<string>;
  /** Where the secret payloads are stored (user-managed replication, one replica). */
  location: pulumi.Input<string>;
  /** Secret ids are `<prefix>-<env name in kebab case>`. */
  prefix: string;
  secrets: readonly SecretInput[];
  /** The IAM member (the runtime service account) granted secretAccessor on each secret. */
  accessorMember: pulumi.Input<string>;
  deletionProtection: boolean;
  labels: Record<string, string>;
}

/** How long a replaced secret version stays restorable (disabled) before Google destroys it. */
export const SECRET_VERSION_GRACE_DAYS = 7;

/** What a Cloud Run env entry needs to point at one secret version. */
export interface SecretVersionRef {
  secret: pulumi.Output<string>;
  version: pulumi.Output<string>;
}

export class BridgeSecrets extends pulumi.ComponentResource {
  /** Keyed by environment variable name. */
  readonly refs: Readonly<Record<string, SecretVersionRef>>;
  readonly secretIds: pulumi.Output<string>[];

  constructor(name: string, args: BridgeSecretsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("exotel-bridge:infra:BridgeSecrets", name, {}, opts);
    const refs: Record<string, SecretVersionRef> = {};
    const secretIds: pulumi.Output<string>[] = [];
    for (const input of args.secrets) {
      const slug = input.envName.toLowerCase().replace(/_/g, "-");
      const secret = new gcp.secretmanager.Secret(
        `${name}-${slug}`,
        {
          project: args.project,
          secretId: `${args.prefix}-${slug}`,
          // Payloads stay in the deploy region (India by default), next to the service.
          replication: { userManaged: { replicas: [{ location: args.location }] } },
          deletionProtection: args.deletionProtection,
          versionDestroyTtl: `${SECRET_VERSION_GRACE_DAYS * 86400}s`,
          labels: args.labels,
        },
        { parent: this },
      );
      const version = new gcp.secretmanager.SecretVersion(
        `${name}-${slug}-version`,
        {
          secret: secret.id,
          // pulumi.secret: encrypted in state and masked in every preview, whatever the caller passed.
          secretData: pulumi.secret(input.value),
          // "DELETE" asks Secret Manager to destroy the version, which with the secret's destroy TTL
          // means: disabled now, destroyed after the grace period (not "ABANDON", which would leave
          // every old credential enabled forever).
          deletionPolicy: "DELETE",
        },
        // A new value is a new version: create it (and roll the revision to it) before the old
        // one is disabled, so the running revision never points at a disabled version.
        { parent: this, deleteBeforeReplace: false },
      );
      new gcp.secretmanager.SecretIamMember(
        `${name}-${slug}-accessor`,
        {
          project: args.project,
          secretId: secret.id,
          role: "roles/secretmanager.secretAccessor",
          member: args.accessorMember,
        },
        { parent: this },
      );
      refs[input.envName] = { secret: secret.secretId, version: version.version };
      secretIds.push(secret.secretId);
    }
    this.refs = Object.freeze(refs);
    this.secretIds = secretIds;
    this.registerOutputs({ secretIds });
  }
}
