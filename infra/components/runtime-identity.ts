// The identity the bridge runs as: a dedicated service account with only the project-level role
// every instance needs (write logs). No metric writer: the bridge never calls Cloud Monitoring (its
// /metrics is a Prometheus page nobody on Cloud Run scrapes) and the stack's metrics are log-based,
// computed by Cloud Logging from the log entries. Access to individual resources (each secret;
// the recordings bucket or the state store) is granted by the component that owns
// the resource, on that resource alone, to `member`.
import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";

/** Project-level roles of the runtime identity; nothing else is granted at project level. */
export const RUNTIME_PROJECT_ROLES = ["roles/logging.logWriter"] as const;

export interface RuntimeIdentityArgs {
  project: pulumi.Input<string>;
  /** 6-30 characters, becomes `<accountId>@<project>.iam.gserviceaccount.com`. */
  accountId: string;
  displayName: string;
}

export class RuntimeIdentity extends pulumi.ComponentResource {
  readonly email: pulumi.Output<string>;
  /** `serviceAccount:<email>`, the IAM member string. */
  readonly member: pulumi.Output<string>;

  constructor(name: string, args: RuntimeIdentityArgs, opts?: pulumi.ComponentResourceOptions) {
    super("exotel-bridge:infra:RuntimeIdentity", name, {}, opts);
    const account = new gcp.serviceaccount.Account(
      `${name}-sa`,
      {
        project: args.project,
        accountId: args.accountId,
        displayName: args.displayName,
        description: "Runtime identity of the exotel-bridge Cloud Run service (managed by Pulumi)",
      },
      { parent: this },
    );
    this.email = account.email;
    this.member = pulumi.interpolate`serviceAccount:${account.email}`;
    for (const role of RUNTIME_PROJECT_ROLES) {
      new gcp.projects.IAMMember(
        `${name}-${role.split("/")[1]}`,
        // IAMMember is additive: it never rewrites bindings it does not own.
        { project: args.project, role, member: this.member },
        { parent: this },
      );
    }
    this.registerOutputs({ email: this.email, member: this.member });
  }
}
