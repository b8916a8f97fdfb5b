// Turns on the Google APIs the stack uses. Everything else in the stack depends on this
// component, so a fresh project works on the first `pulumi up`.
import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";

/** The APIs this stack needs, each with the reason it is here. */
export const REQUIRED_APIS: Readonly<Record<string, string>> = {
  "run.googleapis.com": "Cloud Run service",
  "artifactregistry.googleapis.com": "the bridge image",
  "secretmanager.googleapis.com": "ElevenLabs key, agent id, Exotel credential",
  "iam.googleapis.com": "the runtime service account",
  "cloudresourcemanager.googleapis.com": "project-level IAM bindings",
  "logging.googleapis.com": "call-log bucket and sink",
  "monitoring.googleapis.com": "dashboard, alert policies and Cloud Run's own metrics",
};

export interface ProjectApisArgs {
  project: pulumi.Input<string>;
  /** API service names, e.g. `run.googleapis.com`. */
  services: readonly string[];
}

export class ProjectApis extends pulumi.ComponentResource {
  /** One resource per API, for `dependsOn`. */
  readonly services: gcp.projects.Service[];

  constructor(name: string, args: ProjectApisArgs, opts?: pulumi.ComponentResourceOptions) {
    super("exotel-bridge:infra:ProjectApis", name, {}, opts);
    this.services = args.services.map(
      (service) =>
        new gcp.projects.Service(
          `${name}-${service.split(".")[0]}`,
          {
            project: args.project,
            service,
            // Leave APIs on when the stack goes away: other workloads in the project may use them.
            disableOnDestroy: false,
            disableDependentServices: false,
          },
          { parent: this },
        ),
    );
    this.registerOutputs({ services: this.services.map((s) => s.service) });
  }
}
