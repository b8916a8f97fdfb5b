// Runs the real Pulumi program (infra/index.ts) against pulumi.runtime.setMocks and records every
// resource registration and invoke. Mocks are set and config is installed BEFORE the program is
// imported; each test file runs in its own process, so one program run per file.
import { createHash } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import {
  type DeployerFeatures,
  deployerRoles,
  featuresFromStackConfig,
  roleForType,
} from "../../lib/deployer-roles";

export const PROJECT_ID = "bridge-test-project";
export const PROJECT_NUMBER = "123456789012";
/** What the mocked getClientConfig hands out as the deployer's OAuth token. */
export const FAKE_ACCESS_TOKEN = "ya29.fake-deployer-token-0d1e2f";
/** Version number the mocked Secret Manager gives every new secret version. */
export const MOCK_SECRET_VERSION = "7";
/** What the mocked Memorystore instance reports. */
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
  /** Filled in once the registration answers (the mock monitor makes the URN). */
  urn?: string;
  /**
   * URNs this resource waits for: what the engine is told (dependsOn, expanded through components,
   * plus every input's source) and its parent, because the Node SDK sends a child's registration
   * only once its parent's has answered, and a component's only once its own dependencies have.
   */
  dependencies: string[];
  /** Inputs as the engine would receive them: secrets stay wrapped (see isSecretValue). */
  inputs: Record<string, unknown>;
  state: Record<string, unknown>;
}

export interface ProgramRun {
  /** The stack config the program ran with (keys as in Pulumi.<stack>.yaml). */
  config: Readonly<Record<string, string>>;
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
      // Google's LogSink.writer_identity: sinks whose destination is a log bucket in the sink's own
      // project have no writer identity and need no permissions; every other destination gets a
      // service agent that must be granted access.
      return {
        writerIdentity: String(i.destination).startsWith(`logging.googleapis.com/projects/${i.project}/`)
          ? ""
          : `serviceAccount:service-${PROJECT_NUMBER}@gcp-sa-logging.iam.gserviceaccount.com`,
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
  const pending = new Map<string, string[]>();
  await pulumi.runtime.setMocks(
    {
      newResource(args) {
        assertIamMembersWellFormed(args.type, plain(args.inputs) as Record<string, unknown>);
        const state = { ...args.inputs, ...computed(args.type, args.name, args.inputs) };
        const recorded: Recorded = {
          type: args.type,
          name: args.name,
          inputs: args.inputs,
          state,
          dependencies: pending.get(`${args.type}::${args.name}`) ?? [],
        };
        resources.push(recorded);
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
  recordDependencies(resources, pending);
  return () => resources;
}

/** The request of one registerResource call, as far as this file reads it. */
interface RegisterRequest {
  getType(): string;
  getName(): string;
  getParent(): string;
  getDependenciesList(): string[];
}
type RegisterCallback = (err: unknown, res?: { getUrn(): string }) => void;

/**
 * Wraps the mock monitor so each registration also records what the engine would order it by:
 * the request's dependency URNs (explicit dependsOn, expanded through components, plus the
 * resources its inputs came from). The mocks' newResource does not see these, so they travel
 * through `pending`, keyed by type and name (unique in this program).
 */
function recordDependencies(resources: Recorded[], pending: Map<string, string[]>): void {
  const monitor = pulumi.runtime.getMonitor() as unknown as {
    registerResource(req: RegisterRequest, cb: RegisterCallback): void;
  };
  const original = monitor.registerResource.bind(monitor);
  monitor.registerResource = (req, cb) => {
    const parent = req.getParent();
    pending.set(`${req.getType()}::${req.getName()}`, [
      ...req.getDependenciesList(),
      ...(parent && !parent.includes("::pulumi:pulumi:Stack::") ? [parent] : []),
    ]);
    original(req, (err, res) => {
      if (!err && res) {
        const found = [...resources]
          .reverse()
          .find((r) => r.type === req.getType() && r.name === req.getName());
        if (found) found.urn = res.getUrn();
      }
      cb(err, res);
    });
  };
}

// Google's IAM rejects a member that is not `<type>:<value>` or one of the two public principals
// (400 "Policy members must be of the form <type>:<value>"); the mock refuses it the same way.
const MEMBER =
  /^(allUsers|allAuthenticatedUsers|(user|serviceAccount|group|domain|principal|principalSet):\S+)$/;

function assertIamMembersWellFormed(type: string, inputs: Record<string, unknown>): void {
  if (!/iam(member|binding)/i.test(type)) return;
  const members = [inputs.member, ...((inputs.members as unknown[] | undefined) ?? [])].filter(
    (m) => m !== undefined,
  );
  for (const member of members) {
    if (typeof member !== "string" || !MEMBER.test(member)) {
      throw new Error(
        `${type}: googleapi: Error 400: Policy members must be of the form "<type>:<value>" (got ${JSON.stringify(member)})`,
      );
    }
  }
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
  return { config, resources, invokes, exports, outputs };
}

export function ofType(run: ProgramRun, type: string): Recorded[] {
  return run.resources.filter((r) => r.type === type);
}

export function single(run: ProgramRun, type: string): Recorded {
  const found = ofType(run, type);
  if (found.length !== 1) throw new Error(`expected one ${type}, found ${found.length}`);
  return found[0] as Recorded;
}

/** Every URN `r` waits for, directly or through the resources it waits for. */
export function dependencyClosure(run: ProgramRun, r: Recorded): Set<string> {
  const byUrn = new Map(run.resources.filter((x) => x.urn !== undefined).map((x) => [x.urn as string, x]));
  const seen = new Set<string>();
  const stack = [...r.dependencies];
  while (stack.length > 0) {
    const urn = stack.pop() as string;
    if (seen.has(urn)) continue;
    seen.add(urn);
    stack.push(...(byUrn.get(urn)?.dependencies ?? []));
  }
  return seen;
}

/**
 * Fails unless every Google resource the run registered can be created by the roles the
 * bootstrap grants for these features (infra/lib/deployer-roles.ts): the 403 a deployer would
 * get on first contact, found here instead. Without `features`, they are read from the run's own
 * config the way the bootstrap reads a stack file, so a test cannot claim a feature is off while
 * the program (by default) turns it on.
 */
export function assertDeployerCanCreate(
  run: ProgramRun,
  features: DeployerFeatures = featuresFromStackConfig(run.config),
): void {
  const granted = new Set(deployerRoles(features).map((n) => n.role));
  const types = new Set(run.resources.filter((r) => !r.type.startsWith("exotel-bridge:")).map((r) => r.type));
  for (const type of types) {
    const role = roleForType(type);
    if (role === undefined)
      throw new Error(`${type}: no deployer role mapped in infra/lib/deployer-roles.ts`);
    if (!granted.has(role)) throw new Error(`${type} needs ${role}, which the bootstrap does not grant`);
  }
}
