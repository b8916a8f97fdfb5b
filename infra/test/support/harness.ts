// Runs the real Pulumi program (infra/index.ts) against pulumi.runtime.setMocks and records every
// resource registration and invoke. Mocks are set and config is installed BEFORE the program is
// imported; each test file runs in its own process, so one program run per file.
import { createHash } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";

export const PROJECT_ID = "bridge-test-project";
export const PROJECT_NUMBER = "123456789012";
/** What the mocked getClientConfig hands out as the deployer's OAuth token. */
export const FAKE_ACCESS_TOKEN = "ya29.fake-deployer-token-0d1e2f";
/** Version number the mocked Secret Manager gives every new secret version. */
export const MOCK_SECRET_VERSION = "7";
/** What the mocked Memorystore instance reports (issue 7's shared state). */
export const MOCK_REDIS_HOST = "10.9.0.3";
export const MOCK_REDIS_AUTH = "mock-redis-auth-string-8c1d";
/** The CAs a TLS instance lists (two during a rotation); not real certificates. */
export const MOCK_REDIS_CAS = [
  "-----BEGIN CERTIFICATE-----\nMOCKCAONE\n-----END CERTIFICATE-----\n",
  "-----BEGIN CERTIFICATE-----\nMOCKCATWO\n-----END CERTIFICATE-----\n",
];

/** Pulumi's wire marker for a secret value inside mocked resource inputs. */
const SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

export interface Recorded {
  type: string;
  name: string;
  /** Inputs as the engine would receive them: secrets stay wrapped (see isSecretValue). */
  inputs: Record<string, unknown>;
  state: Record<string, unknown>;
}

export interface ProgramRun {
  resources: Recorded[];
  invokes: { token: string; inputs: Record<string, unknown> }[];
  exports: Record<string, unknown>;
  /** Resolved value and secretness of every stack output. */
  outputs: Record<string, { value: unknown; secret: boolean }>;
}

export function isSecretValue(v: unknown): v is { value: unknown } {
  return typeof v === "object" && v !== null && (v as Record<string, unknown>)[SIG_KEY] === SECRET_SIG;
}

/** Removes secret wrappers (for reading values in assertions). */
export function plain(v: unknown): unknown {
  if (isSecretValue(v)) return plain(v.value);
  if (Array.isArray(v)) return v.map(plain);
  if (typeof v === "object" && v !== null) {
    return Object.fromEntries(Object.entries(v).map(([k, inner]) => [k, plain(inner)]));
  }
  return v;
}

/** Every string inside `v`, with `insideSecret` telling whether a secret wrapper encloses it. */
export function strings(v: unknown, insideSecret = false): { text: string; insideSecret: boolean }[] {
  if (typeof v === "string") return [{ text: v, insideSecret }];
  if (isSecretValue(v)) return strings(v.value, true);
  if (Array.isArray(v)) return v.flatMap((e) => strings(e, insideSecret));
  if (typeof v === "object" && v !== null) return Object.values(v).flatMap((e) => strings(e, insideSecret));
  return [];
}

function computed(type: string, name: string, inputs: Record<string, unknown>): Record<string, unknown> {
  const i = plain(inputs) as Record<string, string>;
  switch (type) {
    case "gcp:serviceaccount/account:Account": {
      const email = `${i.accountId}@${i.project}.iam.gserviceaccount.com`;
      return {
        email,
        member: `serviceAccount:${email}`,
        name: `projects/${i.project}/serviceAccounts/${email}`,
      };
    }
    case "gcp:artifactregistry/repository:Repository":
      return { registryUri: `${i.location}-docker.pkg.dev/${i.project}/${i.repositoryId}` };
    case "docker-build:index:Image": {
      const digest = `sha256:${createHash("sha256").update(name).digest("hex")}`;
      const tags = ((plain(inputs) as Record<string, unknown>).tags as string[] | undefined) ?? [];
      return { digest, ref: `${tags[0]}@${digest}`, contextHash: "mock" };
    }
    case "gcp:secretmanager/secret:Secret":
      return { name: `projects/${PROJECT_NUMBER}/secrets/${i.secretId}` };
    case "gcp:secretmanager/secretVersion:SecretVersion":
      return { version: MOCK_SECRET_VERSION, name: `${i.secret}/versions/${MOCK_SECRET_VERSION}` };
    case "gcp:cloudrunv2/service:Service":
      return { uri: `https://${i.name}-x7k2q9abcd-el.a.run.app`, latestReadyRevision: `${i.name}-00001-abc` };
    case "gcp:logging/projectBucketConfig:ProjectBucketConfig":
      return { name: `projects/${i.project}/locations/${i.location}/buckets/${i.bucketId}` };
    case "gcp:storage/bucket:Bucket":
      return { url: `gs://${i.name}`, selfLink: `https://www.googleapis.com/storage/v1/b/${i.name}` };
    case "gcp:compute/network:Network":
      return {
        selfLink: `https://www.googleapis.com/compute/v1/projects/${i.project}/global/networks/${i.name}`,
      };
    case "gcp:compute/subnetwork:Subnetwork":
      return {
        selfLink: `https://www.googleapis.com/compute/v1/projects/${i.project}/regions/${i.region}/subnetworks/${i.name}`,
      };
    case "gcp:redis/instance:Instance":
      // With in-transit encryption Memorystore serves TLS on 6378 and lists its CAs.
      return i.transitEncryptionMode === "SERVER_AUTHENTICATION"
        ? {
            host: MOCK_REDIS_HOST,
            port: 6378,
            authString: MOCK_REDIS_AUTH,
            serverCaCerts: MOCK_REDIS_CAS.map((cert) => ({ cert })),
          }
        : { host: MOCK_REDIS_HOST, port: 6379, authString: MOCK_REDIS_AUTH };
    case "gcp:logging/projectSink:ProjectSink":
      return {
        writerIdentity: `serviceAccount:service-${PROJECT_NUMBER}@gcp-sa-logging.iam.gserviceaccount.com`,
      };
    default:
      return {};
  }
}

function idFor(type: string, inputs: Record<string, unknown>, name: string): string {
  const i = plain(inputs) as Record<string, string>;
  if (type === "gcp:secretmanager/secret:Secret") return `projects/${i.project}/secrets/${i.secretId}`;
  if (type === "gcp:compute/network:Network") return `projects/${i.project}/global/networks/${i.name}`;
  return `${name}-id`;
}

export async function resolve<T>(o: pulumi.Output<T>): Promise<{ value: T; secret: boolean }> {
  const value = await new Promise<T>((res) => o.apply((v) => res(v)));
  return { value, secret: await pulumi.isSecret(o) };
}

/**
 * Installs config (keys as in Pulumi.<stack>.yaml, e.g. `exotel-bridge:concurrency`), sets mocks,
 * imports the program and waits until every registration has happened.
 */
/**
 * Pulumi mocks with this file's resource model, for testing a component on its own (no program);
 * returns what has been registered so far.
 */
export async function useMocks(invokes: ProgramRun["invokes"] = []): Promise<() => readonly Recorded[]> {
  const resources: Recorded[] = [];
  await pulumi.runtime.setMocks(
    {
      newResource(args) {
        const state = { ...args.inputs, ...computed(args.type, args.name, args.inputs) };
        resources.push({ type: args.type, name: args.name, inputs: args.inputs, state });
        return { id: idFor(args.type, args.inputs, args.name), state };
      },
      call(args) {
        invokes.push({ token: args.token, inputs: args.inputs });
        if (args.token === "gcp:organizations/getClientConfig:getClientConfig") {
          return { accessToken: FAKE_ACCESS_TOKEN, project: PROJECT_ID, region: "asia-south1", id: "cc" };
        }
        throw new Error(`unexpected invoke ${args.token}`);
      },
    },
    "exotel-bridge",
    "dev",
    false,
  );
  return () => resources;
}

export async function runProgram(config: Record<string, string>, secretKeys: string[]): Promise<ProgramRun> {
  const invokes: ProgramRun["invokes"] = [];
  pulumi.runtime.setAllConfig(config, secretKeys);
  const recorded = await useMocks(invokes);
  const resources = recorded() as Recorded[];

  // Imported only now: the program reads config and registers resources at import time.
  const exports = require("../../index") as Record<string, unknown>;
  const outputs: ProgramRun["outputs"] = {};
  for (const [key, value] of Object.entries(exports)) {
    if (pulumi.Output.isInstance(value)) outputs[key] = await resolve(value as pulumi.Output<unknown>);
    else if (typeof value === "string") outputs[key] = { value, secret: false };
  }
  // Registrations that no output depends on (IAM members, for one) may still be in flight.
  let stableFor = 0;
  let last = -1;
  for (let i = 0; i < 500 && stableFor < 10; i++) {
    await new Promise((r) => setTimeout(r, 5));
    stableFor = resources.length === last ? stableFor + 1 : 0;
    last = resources.length;
  }
  return { resources, invokes, exports, outputs };
}

export function ofType(run: ProgramRun, type: string): Recorded[] {
  return run.resources.filter((r) => r.type === type);
}

export function single(run: ProgramRun, type: string): Recorded {
  const found = ofType(run, type);
  if (found.length !== 1) throw new Error(`expected one ${type}, found ${found.length}`);
  return found[0] as Recorded;
}
