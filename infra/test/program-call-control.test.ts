// The real program under Pulumi mocks with call control's infrastructure on: a recordings bucket with
// retention and a create-only grant, and Memorystore for Redis reached through Direct VPC egress,
// with REDIS_URL (a secret) and RECORDINGS_BUCKET on the service.
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { ConfigError, loadConfig } from "../config";
import {
  assertDeployerCanCreate,
  MOCK_REDIS_AUTH,
  MOCK_REDIS_CAS,
  MOCK_REDIS_HOST,
  MOCK_SECRET_VERSION,
  ofType,
  PROJECT_ID,
  type ProgramRun,
  plain,
  runProgram,
  single,
  strings,
} from "./support/harness";

const SERVICE = "exotel-bridge-dev";
const REGION = "asia-south1";
const BUCKET = `${PROJECT_ID}-${SERVICE}-rec`;
const CALL_SECRETS: Record<string, string> = {
  "exotel-bridge:callsApiToken": "calls-api-token-0123456789abcdef",
  "exotel-bridge:exotelApiKey": "exotel-api-key-9f8e",
  "exotel-bridge:exotelApiToken": "exotel-api-token-7d6c",
  "exotel-bridge:exotelWebhookToken": "webhook-token-5b4a3c2d1e",
};
const ROUTES = { routes: [{ name: "sales", match: { to: "+918047491899" }, agent_id: "agent_sales" }] };

let run: ProgramRun;
let template: Record<string, unknown>;
let envs: {
  name: string;
  value?: string;
  valueSource?: { secretKeyRef: { secret: string; version: string } };
}[];
let sa: string;

before(async () => {
  run = await runProgram(
    {
      "gcp:project": PROJECT_ID,
      "gcp:region": REGION,
      "exotel-bridge:elevenlabsApiKey": "sk_call_control_1234",
      "exotel-bridge:elevenlabsAgentId": "agent_call_control_5678",
      "exotel-bridge:recordings": "true",
      "exotel-bridge:recordingsRetentionDays": "30",
      "exotel-bridge:stateStore": "redis",
      "exotel-bridge:redisTier": "STANDARD_HA",
      "exotel-bridge:vpcSubnetCidr": "10.20.0.0/24",
      "exotel-bridge:bridgeEnv": JSON.stringify({
        TRANSFER_NUMBERS: "default=+918000000001,sales=+918000000002",
        PUBLIC_BASE_URL: "https://bridge.example.com",
        EXOTEL_CALLER_ID: "08047491899",
        EXOTEL_APP_ID: 12345,
        TRANSFER_ON_FAILURE: true,
      }),
      "exotel-bridge:routingTable": JSON.stringify(ROUTES),
      ...CALL_SECRETS,
    },
    ["exotel-bridge:elevenlabsApiKey", ...Object.keys(CALL_SECRETS)],
  );
  template = (plain(single(run, "gcp:cloudrunv2/service:Service").inputs) as Record<string, unknown>)
    .template as Record<string, unknown>;
  const container = (template.containers as Record<string, unknown>[])[0] as Record<string, unknown>;
  envs = container.envs as typeof envs;
  sa = `serviceAccount:${plain(single(run, "gcp:serviceaccount/account:Account").state.email) as string}`;
});

describe("recordings bucket", () => {
  it("is private, regional, uniform-access, and deletes recordings after the retention period", () => {
    const bucket = plain(single(run, "gcp:storage/bucket:Bucket").inputs) as Record<string, unknown>;
    assert.equal(bucket.name, BUCKET);
    assert.equal(bucket.location, REGION);
    assert.equal(bucket.uniformBucketLevelAccess, true);
    assert.equal(bucket.publicAccessPrevention, "enforced");
    assert.deepEqual(bucket.lifecycleRules, [{ action: { type: "Delete" }, condition: { age: 30 } }]);
    assert.equal(bucket.forceDestroy, true, "a dev stack (no deletion protection) can be destroyed");
  });

  it("grants the runtime identity object create on this bucket and nothing else in Cloud Storage", () => {
    const grants = ofType(run, "gcp:storage/bucketIAMMember:BucketIAMMember").map(
      (r) => plain(r.inputs) as Record<string, unknown>,
    );
    assert.deepEqual(grants, [{ bucket: BUCKET, role: "roles/storage.objectCreator", member: sa }]);
    // No project-level storage role sneaks in.
    for (const r of ofType(run, "gcp:projects/iAMMember:IAMMember")) {
      assert.doesNotMatch(String((plain(r.inputs) as { role: string }).role), /storage/);
    }
  });

  it("passes the bucket to the bridge as RECORDINGS_BUCKET and exports gs://", () => {
    assert.equal(envs.find((e) => e.name === "RECORDINGS_BUCKET")?.value, BUCKET);
    assert.equal(run.outputs.recordingsBucket?.value, `gs://${BUCKET}`);
  });
});

describe("shared state on Memorystore", () => {
  it("creates a custom-mode VPC and a regional subnet for Direct VPC egress", () => {
    const network = plain(single(run, "gcp:compute/network:Network").inputs) as Record<string, unknown>;
    assert.equal(network.name, `${SERVICE}-vpc`);
    assert.equal(network.autoCreateSubnetworks, false);
    const subnet = plain(single(run, "gcp:compute/subnetwork:Subnetwork").inputs) as Record<string, unknown>;
    assert.equal(subnet.region, REGION);
    assert.equal(subnet.ipCidrRange, "10.20.0.0/24");
    assert.equal(subnet.network, `projects/${PROJECT_ID}/global/networks/${SERVICE}-vpc`);
  });

  it("runs Redis with AUTH, peered to that VPC, in the region, with the configured tier", () => {
    const redis = plain(single(run, "gcp:redis/instance:Instance").inputs) as Record<string, unknown>;
    assert.equal(redis.region, REGION);
    assert.equal(redis.tier, "STANDARD_HA");
    assert.equal(redis.memorySizeGb, 1);
    assert.equal(redis.authEnabled, true);
    assert.equal(redis.connectMode, "DIRECT_PEERING");
    assert.equal(redis.authorizedNetwork, `projects/${PROJECT_ID}/global/networks/${SERVICE}-vpc`);
    assert.deepEqual(redis.redisConfigs, { "maxmemory-policy": "volatile-ttl" });
    assert.equal(redis.transitEncryptionMode, "SERVER_AUTHENTICATION", "TLS unless redisTls is false");
  });

  it("joins the service to the subnet for private ranges only", () => {
    assert.deepEqual(template.vpcAccess, {
      networkInterfaces: [{ network: `${SERVICE}-vpc`, subnetwork: `${SERVICE}-run` }],
      egress: "PRIVATE_RANGES_ONLY",
    });
  });

  it("hands REDIS_URL to the bridge as a Secret Manager reference holding the AUTH string", () => {
    const env = envs.find((e) => e.name === "REDIS_URL");
    assert.equal(env?.value, undefined, "no literal value");
    assert.deepEqual(env?.valueSource?.secretKeyRef, {
      secret: `${SERVICE}-redis-url`,
      version: MOCK_SECRET_VERSION,
    });
    const version = ofType(run, "gcp:secretmanager/secretVersion:SecretVersion").find((v) =>
      strings(v.inputs.secretData).some((s) => s.text.startsWith("rediss://")),
    );
    assert.ok(version, "a secret version holds the URL");
    const [data] = strings(version.inputs.secretData);
    assert.equal(data?.text, `rediss://:${MOCK_REDIS_AUTH}@${MOCK_REDIS_HOST}:6378`);
    assert.equal(data?.insideSecret, true);
    const accessors = ofType(run, "gcp:secretmanager/secretIamMember:SecretIamMember").map(
      (r) => plain(r.inputs) as Record<string, unknown>,
    );
    assert.ok(accessors.some((a) => String(a.secretId).endsWith(`${SERVICE}-redis-url`) && a.member === sa));
  });

  it("hands the bridge every CA the instance lists as REDIS_CA_CERT", () => {
    const env = envs.find((e) => e.name === "REDIS_CA_CERT");
    assert.equal(env?.value, undefined, "a reference, like the other values known only after deployment");
    assert.equal(env?.valueSource?.secretKeyRef.secret, `${SERVICE}-redis-ca-cert`);
    const version = ofType(run, "gcp:secretmanager/secretVersion:SecretVersion").find((v) =>
      strings(v.inputs.secretData).some((s) => s.text.includes("MOCKCAONE")),
    );
    const [data] = strings(version?.inputs.secretData);
    assert.equal(data?.text, MOCK_REDIS_CAS.map((c) => c.trim()).join("\n"));
  });

  it("never lets the AUTH string appear outside that secret version", () => {
    for (const r of run.resources) {
      for (const [key, value] of Object.entries(r.inputs)) {
        for (const s of strings(value)) {
          if (!s.text.includes(MOCK_REDIS_AUTH)) continue;
          assert.equal(
            r.type,
            "gcp:secretmanager/secretVersion:SecretVersion",
            `AUTH string in ${r.type}.${key}`,
          );
          assert.ok(s.insideSecret);
        }
      }
    }
    for (const [key, output] of Object.entries(run.outputs)) {
      for (const s of strings(output.value))
        assert.ok(!s.text.includes(MOCK_REDIS_AUTH), `AUTH string in output ${key}`);
    }
    assert.equal(run.outputs.stateStoreHost?.value, MOCK_REDIS_HOST);
  });
});

describe("call-control settings on the service", () => {
  it("passes bridgeEnv and the routing table as plain variables", () => {
    const value = (name: string) => envs.find((e) => e.name === name)?.value;
    assert.equal(value("TRANSFER_NUMBERS"), "default=+918000000001,sales=+918000000002");
    assert.equal(value("PUBLIC_BASE_URL"), "https://bridge.example.com");
    assert.equal(value("EXOTEL_CALLER_ID"), "08047491899");
    assert.equal(value("EXOTEL_APP_ID"), "12345");
    assert.equal(value("TRANSFER_ON_FAILURE"), "true");
    assert.deepEqual(JSON.parse(value("ROUTING_TABLE") as string), ROUTES);
  });

  it("passes the call-control credentials only as Secret Manager references", () => {
    for (const name of ["CALLS_API_TOKEN", "EXOTEL_API_KEY", "EXOTEL_API_TOKEN", "EXOTEL_WEBHOOK_TOKEN"]) {
      const env = envs.find((e) => e.name === name);
      assert.equal(env?.value, undefined, `${name} has no literal value`);
      assert.equal(
        env?.valueSource?.secretKeyRef.secret,
        `${SERVICE}-${name.toLowerCase().replace(/_/g, "-")}`,
      );
    }
    for (const secret of Object.values(CALL_SECRETS)) {
      for (const r of run.resources) {
        for (const [key, value] of Object.entries(r.inputs)) {
          for (const s of strings(value)) {
            if (!s.text.includes(secret)) continue;
            assert.equal(
              r.type,
              "gcp:secretmanager/secretVersion:SecretVersion",
              `${secret} in ${r.type}.${key}`,
            );
            assert.ok(s.insideSecret);
          }
        }
      }
    }
  });
});

describe("program shape with call control", () => {
  it("enables the extra APIs and adds one component per concern", () => {
    const apis = ofType(run, "gcp:projects/service:Service").map(
      (r) => (plain(r.inputs) as { service: string }).service,
    );
    for (const api of ["redis.googleapis.com", "compute.googleapis.com", "storage.googleapis.com"]) {
      assert.ok(apis.includes(api), api);
    }
    const components = new Set(
      run.resources.filter((r) => r.type.startsWith("exotel-bridge:infra:")).map((r) => r.type),
    );
    assert.ok(components.has("exotel-bridge:infra:RecordingsBucket"));
    assert.ok(components.has("exotel-bridge:infra:SharedState"));
  });
});

describe("call-control stack configuration", () => {
  function problems(extra: Record<string, string>): string[] {
    pulumi.runtime.setAllConfig(
      {
        "gcp:project": "my-project-123",
        "exotel-bridge:elevenlabsApiKey": "sk_x",
        "exotel-bridge:elevenlabsAgentId": "agent_x",
        ...extra,
      },
      ["exotel-bridge:elevenlabsApiKey"],
    );
    try {
      loadConfig();
    } catch (err) {
      assert.ok(err instanceof ConfigError);
      return err.problems;
    }
    return [];
  }

  it("refuses bridgeEnv entries that are not plain settings", () => {
    assert.deepEqual(
      problems({
        "exotel-bridge:bridgeEnv": JSON.stringify({
          lower_case: "x",
          REDIS_URL: "redis://x",
          CRM_API_KEY: "k",
          NESTED: { a: 1 },
          TRANSFER_NUMBERS: "+918000000001",
        }),
      }).sort(),
      [
        'exotel-bridge:bridgeEnv: "lower_case" is not an environment variable name',
        "exotel-bridge:bridgeEnv: CRM_API_KEY looks like a credential; set it as a secret key instead",
        "exotel-bridge:bridgeEnv: NESTED must be a string, number or boolean",
        "exotel-bridge:bridgeEnv: REDIS_URL is set by the stack itself (use its own config key)",
        "exotel-bridge:exotelWebhookToken (or exotelBasicAuth) is required with bridgeEnv TRANSFER_NUMBERS: " +
          "call control's /exotel/* routes always need a credential (pulumi config set --secret exotelWebhookToken)",
      ].sort(),
    );
    assert.deepEqual(problems({ "exotel-bridge:bridgeEnv": JSON.stringify(["A=1"]) }), [
      "exotel-bridge:bridgeEnv must be an object of NAME: value",
    ]);
  });

  it("refuses call control without a credential for /exotel/*, as the bridge would at start-up", () => {
    const needs = (extra: Record<string, string>) =>
      problems(extra).filter((p) => p.includes("exotelWebhookToken (or exotelBasicAuth) is required"));
    const uses: Record<string, string>[] = [
      { "exotel-bridge:stateStore": "redis" },
      { "exotel-bridge:routingTable": JSON.stringify(ROUTES) },
      { "exotel-bridge:bridgeEnv": JSON.stringify({ PUBLIC_BASE_URL: "https://bridge.example.com" }) },
      { "exotel-bridge:bridgeEnv": JSON.stringify({ TRANSFER_ON_FAILURE: true }) },
    ];
    for (const use of uses) {
      assert.equal(needs(use).length, 1, JSON.stringify(use));
      assert.deepEqual(needs({ ...use, "exotel-bridge:exotelWebhookToken": "tok_0123456789abcdef" }), []);
      assert.deepEqual(needs({ ...use, "exotel-bridge:exotelBasicAuth": "key:token" }), []);
    }
    assert.deepEqual(
      needs({ "exotel-bridge:bridgeEnv": JSON.stringify({ TRANSFER_ON_FAILURE: false }) }),
      [],
    );
    // A webhook token the bridge would refuse (too short) is caught too, without echoing it.
    const short = problems({ "exotel-bridge:exotelWebhookToken": "short" });
    assert.deepEqual(short, [
      "exotel-bridge:exotelWebhookToken must be 16-200 URL-safe characters (A-Z a-z 0-9 . _ ~ -)",
    ]);
  });

  it("defaults to no recordings and in-memory state, and names each bad key", () => {
    assert.deepEqual(problems({}), []);
    assert.deepEqual(
      problems({
        "exotel-bridge:stateStore": "firestore",
        "exotel-bridge:redisTier": "PREMIUM",
        "exotel-bridge:vpcSubnetCidr": "10.8.0.0/28",
        "exotel-bridge:recordings": "true",
        "exotel-bridge:recordingsBucket": "Not_A_Bucket!",
        "exotel-bridge:recordingsRetentionDays": "0",
      }).sort(),
      [
        'exotel-bridge:recordingsBucket "Not_A_Bucket!" must be 3-63 characters of a-z, 0-9, "-" and "_" (set it explicitly when the default is too long)',
        "exotel-bridge:recordingsRetentionDays must be between 1 and 3650",
        "exotel-bridge:redisTier must be one of BASIC, STANDARD_HA",
        "exotel-bridge:stateStore must be one of memory, redis",
        'exotel-bridge:vpcSubnetCidr "10.8.0.0/28" must be an IPv4 range from /16 to /26',
      ].sort(),
    );
  });
});

describe("deployer permissions with Memorystore and recordings", () => {
  it("grants the deployer a role for the network, the instance and the bucket too", () => {
    assertDeployerCanCreate(run);
    assert.throws(
      () => assertDeployerCanCreate(run, { stateStore: "memory", recordings: false, monitoring: true }),
      /needs roles\/(redis|compute|storage)/,
      "without the feature roles the same stack would hit a 403",
    );
  });
});
