// Shared call state for the bridge (REDIS_URL): a Memorystore for Redis instance on a private VPC,
// and the subnet the Cloud Run service joins with Direct VPC egress to reach it. Exotel's
// follow-up HTTP requests (Passthru, Connect, dynamic URL) land on any instance, so transfer
// decisions and outbound plans must be readable from all of them (docs/call-control.md).
//
// Why Redis and not Firestore: short-lived keys on the call path, sub-millisecond reads inside the
// VPC, expiry built into SET ... PX. Why Direct VPC egress and not a Serverless VPC Access
// connector: no connector VMs to pay for and size, and only private ranges go through the VPC
// (PRIVATE_RANGES_ONLY), so ElevenLabs and Exotel traffic keeps its direct path.
// AUTH is on (the AUTH string reaches the bridge only inside REDIS_URL, a Secret Manager secret), and
// by default in-transit encryption too (SERVER_AUTHENTICATION): the bridge connects with rediss:// and
// verifies the server against the instance's own CA (REDIS_CA_CERT, every CA the instance lists, so a
// CA rotation needs only a new revision). Without TLS the state crosses the VPC in clear text.
import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import type { RedisTier } from "../config";

/** APIs the shared state needs on top of the base set. */
export const SHARED_STATE_APIS: Readonly<Record<string, string>> = {
  "compute.googleapis.com": "VPC and subnet for Direct VPC egress",
  "redis.googleapis.com": "Memorystore for Redis (shared call state)",
};

export interface SharedStateArgs {
  project: pulumi.Input<string>;
  region: string;
  /** Prefix of every resource name (the service name). */
  prefix: string;
  /** Subnet the service's instances take addresses from (at least /26 for Direct VPC egress). */
  subnetCidr: string;
  tier: RedisTier;
  memorySizeGb: number;
  /** In-transit encryption; fixed at creation (changing it replaces the instance). */
  tls: boolean;
  deletionProtection: boolean;
  labels: Record<string, string>;
}

/** What the Cloud Run service needs to join the VPC (Direct VPC egress). */
export interface VpcEgress {
  network: pulumi.Output<string>;
  subnetwork: pulumi.Output<string>;
}

export class SharedState extends pulumi.ComponentResource {
  /** `redis://:<auth>@<host>:<port>` (`rediss://` with TLS), secret. */
  readonly redisUrl: pulumi.Output<string>;
  /** With TLS: the instance's CA certificates (PEM, concatenated) for REDIS_CA_CERT. */
  readonly caCerts: pulumi.Output<string> | undefined;
  readonly host: pulumi.Output<string>;
  readonly vpc: VpcEgress;

  constructor(name: string, args: SharedStateArgs, opts?: pulumi.ComponentResourceOptions) {
    super("exotel-bridge:infra:SharedState", name, {}, opts);
    const network = new gcp.compute.Network(
      `${name}-vpc`,
      {
        project: args.project,
        name: `${args.prefix}-vpc`,
        description: "Private network of the exotel-bridge call state (managed by Pulumi)",
        autoCreateSubnetworks: false,
        routingMode: "REGIONAL",
      },
      { parent: this },
    );
    const subnet = new gcp.compute.Subnetwork(
      `${name}-subnet`,
      {
        project: args.project,
        name: `${args.prefix}-run`,
        region: args.region,
        network: network.id,
        ipCidrRange: args.subnetCidr,
        privateIpGoogleAccess: true,
        description: "Cloud Run Direct VPC egress for exotel-bridge (managed by Pulumi)",
      },
      { parent: this },
    );
    const redis = new gcp.redis.Instance(
      `${name}-redis`,
      {
        project: args.project,
        name: `${args.prefix}-state`,
        displayName: "exotel-bridge call state",
        region: args.region,
        tier: args.tier,
        memorySizeGb: args.memorySizeGb,
        redisVersion: "REDIS_7_2",
        authorizedNetwork: network.id,
        connectMode: "DIRECT_PEERING",
        authEnabled: true,
        transitEncryptionMode: args.tls ? "SERVER_AUTHENTICATION" : "DISABLED",
        // Keys carry their own TTL; under memory pressure evict those closest to expiry first.
        redisConfigs: { "maxmemory-policy": "volatile-ttl" },
        deletionProtection: args.deletionProtection,
        labels: args.labels,
      },
      { parent: this },
    );
    this.host = redis.host;
    // With TLS Memorystore listens on 6378; `port` reports whichever applies.
    const scheme = args.tls ? "rediss" : "redis";
    this.redisUrl = pulumi.secret(
      pulumi.interpolate`${scheme}://:${redis.authString}@${redis.host}:${redis.port}`,
    );
    this.caCerts = args.tls
      ? redis.serverCaCerts.apply((cas) => cas.map((c) => c.cert.trim()).join("\n"))
      : undefined;
    this.vpc = { network: network.name, subnetwork: subnet.name };
    this.registerOutputs({ host: this.host, network: network.name, subnetwork: subnet.name });
  }
}
