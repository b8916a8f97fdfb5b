// The Artifact Registry repository and the bridge image built from app/ and pushed to it.
// `imageRef` is `<repository>/<name>:<tag>@sha256:<digest>`: the service pins the digest, so a
// changed image always rolls a new Cloud Run revision and an unchanged one never does.
import * as dockerBuild from "@pulumi/docker-build";
import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";

export interface BridgeImageArgs {
  project: pulumi.Input<string>;
  region: string;
  repositoryId: string;
  imageName: string;
  tag: string;
  /** Build context directory (app/). */
  contextDir: string;
  dockerfile: string;
  /** Cleanup policy: always keep this many most recent versions... */
  keepVersions: number;
  /** ...and delete versions older than this. */
  deleteAfterDays: number;
  labels: Record<string, string>;
}

/** Cloud Run runs linux/amd64; building for it explicitly keeps ARM laptops from pushing arm64. */
export const IMAGE_PLATFORM = dockerBuild.Platform.Linux_amd64;

export class BridgeImage extends pulumi.ComponentResource {
  readonly repositoryUrl: pulumi.Output<string>;
  /** Tag plus digest, e.g. `asia-south1-docker.pkg.dev/p/r/bridge:latest@sha256:...`. */
  readonly imageRef: pulumi.Output<string>;
  readonly digest: pulumi.Output<string>;

  constructor(name: string, args: BridgeImageArgs, opts?: pulumi.ComponentResourceOptions) {
    super("exotel-bridge:infra:BridgeImage", name, {}, opts);
    const days = (n: number) => `${n * 86_400}s`;
    const repository = new gcp.artifactregistry.Repository(
      `${name}-repository`,
      {
        project: args.project,
        location: args.region,
        repositoryId: args.repositoryId,
        format: "DOCKER",
        description: "exotel-bridge images (managed by Pulumi)",
        labels: args.labels,
        cleanupPolicyDryRun: false,
        cleanupPolicies: [
          {
            // KEEP wins over DELETE: the newest versions (and so the running one) always survive.
            id: "keep-recent",
            action: "KEEP",
            mostRecentVersions: { keepCount: args.keepVersions },
          },
          {
            id: "delete-old",
            action: "DELETE",
            condition: { tagState: "ANY", olderThan: days(args.deleteAfterDays) },
          },
        ],
      },
      { parent: this },
    );
    this.repositoryUrl = repository.registryUri;
    const registryHost = `${args.region}-docker.pkg.dev`;
    // Short-lived OAuth token of whoever runs `pulumi up` (gcloud ADC locally, WIF in CI), so no
    // Docker credential helper has to be configured. Secret: it must never reach state in clear.
    const token = gcp.organizations.getClientConfigOutput({ parent: this }).accessToken;

    const tagRef = pulumi.interpolate`${repository.registryUri}/${args.imageName}:${args.tag}`;
    // Layer cache in its own package of the repository, so it never crowds the kept image versions.
    // CI runners start empty; with it, a source-only change does not reinstall every dependency.
    // A failed cache export must not fail the deploy.
    const cacheRef = pulumi.interpolate`${repository.registryUri}/${args.imageName}-buildcache:latest`;
    const image = new dockerBuild.Image(
      `${name}-image`,
      {
        context: { location: args.contextDir },
        dockerfile: { location: args.dockerfile },
        platforms: [IMAGE_PLATFORM],
        push: true,
        tags: [tagRef],
        registries: [
          { address: registryHost, username: "oauth2accesstoken", password: pulumi.secret(token) },
        ],
        labels: { "org.opencontainers.image.title": "exotel-bridge" },
        cacheFrom: [{ registry: { ref: cacheRef } }],
        cacheTo: [
          {
            registry: {
              ref: cacheRef,
              mode: dockerBuild.CacheMode.Max,
              imageManifest: true,
              ociMediaTypes: true,
              ignoreError: true,
            },
          },
        ],
      },
      { parent: this },
    );
    // Built from the digest rather than taken from `image.ref`, so the pin holds by construction.
    this.imageRef = pulumi.interpolate`${tagRef}@${image.digest}`;
    this.digest = image.digest;
    this.registerOutputs({ repositoryUrl: this.repositoryUrl, imageRef: this.imageRef, digest: this.digest });
  }
}
