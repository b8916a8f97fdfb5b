// The Cloud Run (v2) service that runs the bridge, and the public invoker binding Exotel needs.
// Every setting here follows from "one phone call = one long-lived WebSocket request":
// session affinity, a 60-minute request timeout, CPU that stays allocated between frames,
// HTTP/1 to the container (end-to-end HTTP/2 breaks WebSocket upgrades), and a per-instance
// request limit above the bridge's own call limit (MAX_CONCURRENT_CALLS), so that a full instance
// still takes health checks and callbacks and answers one call too many with its own 503.
import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import { REQUEST_TIMEOUT_SECONDS } from "../config";
import { exotelStreamUrl } from "../lib/stream-url";
import type { SecretVersionRef } from "./secrets";

/** The port Cloud Run sends traffic to; it also sets PORT to this value inside the container. */
export const CONTAINER_PORT = 8080;

export interface BridgeServiceArgs {
  project: pulumi.Input<string>;
  region: string;
  name: string;
  /** Image pinned by digest. */
  image: pulumi.Input<string>;
  serviceAccountEmail: pulumi.Input<string>;
  /** Cloud Run's per-instance request limit (calls plus headroom). */
  requestConcurrency: number;
  /** Public by disabling the invoker IAM check rather than binding allUsers. */
  invokerIamDisabled: boolean;
  minInstances: number;
  maxInstances: number;
  cpu: string;
  memory: string;
  /** Plain (non-secret) environment. */
  env: Record<string, string>;
  /** Environment variables read from Secret Manager, keyed by variable name. */
  secretEnv: Readonly<Record<string, SecretVersionRef>>;
  deletionProtection: boolean;
  /** Adds `?sample-rate=<n>` to the Exotel stream URL. */
  sampleRate?: number;
  /** Direct VPC egress for private ranges only (the shared call state); unset = no VPC. */
  vpcEgress?: { network: pulumi.Input<string>; subnetwork: pulumi.Input<string> };
  labels: Record<string, string>;
}

export class BridgeService extends pulumi.ComponentResource {
  readonly serviceName: pulumi.Output<string>;
  /** `https://...run.app` */
  readonly url: pulumi.Output<string>;
  /** `wss://.../media[?sample-rate=n]`, for the Exotel Voicebot applet. */
  readonly streamUrl: pulumi.Output<string>;

  constructor(name: string, args: BridgeServiceArgs, opts?: pulumi.ComponentResourceOptions) {
    super("exotel-bridge:infra:BridgeService", name, {}, opts);
    const envs: gcp.types.input.cloudrunv2.ServiceTemplateContainerEnv[] = [
      ...Object.entries(args.env).map(([envName, value]) => ({ name: envName, value })),
      // Secrets only ever as Secret Manager references: the value never enters the service spec.
      ...Object.entries(args.secretEnv).map(([envName, ref]) => ({
        name: envName,
        valueSource: { secretKeyRef: { secret: ref.secret, version: ref.version } },
      })),
    ];

    const service = new gcp.cloudrunv2.Service(
      `${name}-service`,
      {
        project: args.project,
        location: args.region,
        name: args.name,
        description: "Exotel Voicebot <-> ElevenLabs Agents WebSocket bridge (managed by Pulumi)",
        // Exotel connects from the public internet and cannot present Google credentials.
        ingress: "INGRESS_TRAFFIC_ALL",
        invokerIamDisabled: args.invokerIamDisabled,
        deletionProtection: args.deletionProtection,
        labels: args.labels,
        template: {
          serviceAccount: args.serviceAccountEmail,
          labels: args.labels,
          // Cookie-based, best effort: any follow-up request of a client lands on the instance that
          // already holds its call instead of a random one.
          sessionAffinity: true,
          timeout: `${REQUEST_TIMEOUT_SECONDS}s`,
          maxInstanceRequestConcurrency: args.requestConcurrency,
          scaling: { minInstanceCount: args.minInstances, maxInstanceCount: args.maxInstances },
          // Second generation: full Linux network stack and steadier CPU for real-time audio.
          executionEnvironment: "EXECUTION_ENVIRONMENT_GEN2",
          // Only private ranges (Memorystore) go through the VPC; Exotel and ElevenLabs stay direct.
          ...(args.vpcEgress
            ? {
                vpcAccess: {
                  networkInterfaces: [
                    { network: args.vpcEgress.network, subnetwork: args.vpcEgress.subnetwork },
                  ],
                  egress: "PRIVATE_RANGES_ONLY",
                },
              }
            : {}),
          containers: [
            {
              name: "bridge",
              image: args.image,
              // "http1": Cloud Run speaks HTTP/1.1 to the container ("h2c" would be end-to-end
              // HTTP/2, which has no WebSocket upgrade).
              ports: { name: "http1", containerPort: CONTAINER_PORT },
              resources: {
                limits: { cpu: args.cpu, memory: args.memory },
                // CPU always allocated: the playout clock, pings and drain timers must run on time,
                // never throttled between frames. Must be explicit once `resources` is set.
                cpuIdle: false,
                startupCpuBoost: true,
              },
              envs,
              // Startup: the bridge answers /readyz once config is valid and it is listening.
              startupProbe: {
                httpGet: { path: "/readyz", port: CONTAINER_PORT },
                initialDelaySeconds: 0,
                periodSeconds: 2,
                timeoutSeconds: 1,
                failureThreshold: 30,
              },
              // Liveness: /healthz stays 200 while draining, so a draining instance is not killed
              // early; a minute of failures means the event loop is stuck. Probes reach the
              // container directly, so the "z" paths work here; from outside (users, scripts, CI)
              // Cloud Run's front end keeps paths ending in "z" for itself: use /health there.
              livenessProbe: {
                httpGet: { path: "/healthz", port: CONTAINER_PORT },
                periodSeconds: 10,
                timeoutSeconds: 5,
                failureThreshold: 6,
              },
            },
          ],
        },
        traffics: [{ type: "TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST", percent: 100 }],
      },
      { parent: this },
    );

    // Public invoke: the bridge's own Basic auth (EXOTEL_BASIC_AUTH) and allow-list protect /media.
    if (!args.invokerIamDisabled) {
      new gcp.cloudrunv2.ServiceIamMember(
        `${name}-public-invoker`,
        {
          project: args.project,
          location: args.region,
          name: service.name,
          role: "roles/run.invoker",
          member: "allUsers",
        },
        { parent: this },
      );
    }

    this.serviceName = service.name;
    this.url = service.uri;
    this.streamUrl = service.uri.apply((uri) => exotelStreamUrl(uri, args.sampleRate));
    this.registerOutputs({ serviceName: this.serviceName, url: this.url, streamUrl: this.streamUrl });
  }
}
