// Cloud Storage bucket for call recordings (the bridge's RECORDINGS_BUCKET): private, regional,
// objects deleted after the retention period, and the runtime identity granted object *create* on
// this bucket alone, which is all the bridge's single-request upload needs (it never reads, lists,
// overwrites or deletes: uploads use ifGenerationMatch=0).
import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";

/** APIs the recordings bucket needs on top of the base set. */
export const RECORDINGS_APIS: Readonly<Record<string, string>> = {
  "storage.googleapis.com": "call recordings bucket",
};

/** The only role the runtime identity gets on the bucket: create objects. */
export const RECORDINGS_WRITER_ROLE = "roles/storage.objectCreator";

export interface RecordingsBucketArgs {
  project: pulumi.Input<string>;
  /** Region: recordings stay in-country, next to the service. */
  location: string;
  /** Globally unique bucket name. */
  bucketName: string;
  /** Objects older than this are deleted. */
  retentionDays: number;
  /** The IAM member (the runtime service account) allowed to create objects. */
  writerMember: pulumi.Input<string>;
  deletionProtection: boolean;
  labels: Record<string, string>;
}

export class RecordingsBucket extends pulumi.ComponentResource {
  readonly bucketName: pulumi.Output<string>;
  /** `gs://<bucket>` */
  readonly url: pulumi.Output<string>;

  constructor(name: string, args: RecordingsBucketArgs, opts?: pulumi.ComponentResourceOptions) {
    super("exotel-bridge:infra:RecordingsBucket", name, {}, opts);
    const bucket = new gcp.storage.Bucket(
      `${name}-bucket`,
      {
        project: args.project,
        name: args.bucketName,
        location: args.location,
        storageClass: "STANDARD",
        // IAM only (no ACLs) and never public: recordings are personal data.
        uniformBucketLevelAccess: true,
        publicAccessPrevention: "enforced",
        lifecycleRules: [{ action: { type: "Delete" }, condition: { age: args.retentionDays } }],
        // A dev stack can be destroyed with its recordings; with deletion protection it cannot.
        forceDestroy: !args.deletionProtection,
        labels: args.labels,
      },
      { parent: this, protect: args.deletionProtection },
    );
    new gcp.storage.BucketIAMMember(
      `${name}-writer`,
      { bucket: bucket.name, role: RECORDINGS_WRITER_ROLE, member: args.writerMember },
      { parent: this },
    );
    this.bucketName = bucket.name;
    this.url = pulumi.interpolate`gs://${bucket.name}`;
    this.registerOutputs({ bucketName: this.bucketName, url: this.url });
  }
}
