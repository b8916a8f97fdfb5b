// The real program under Pulumi mocks with every credential the stack manages set (the admin token,
// the console's own Basic auth, the post-call webhook secret, Exotel's and call control's) and the
// privacy settings widened: each credential reaches the service only as a Secret Manager reference
// that the revision waits for, the list in infra/managed-secrets.json (which scripts/rotate-secret.sh
// reads) is exactly what the program manages, and the console defaults follow the stack's kind.
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { ConfigError, loadConfig, MANAGED_SECRETS } from "../config";
import {
  dependencyClosure,
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
/** One value per managed key, each unlike any other string the program produces. */
const VALUES: Record<string, string> = {
  elevenlabsApiKey: "sk_access_test_key_71c0",
  elevenlabsAgentId: "agent_access_test_52ab",
  exotelBasicAuth: "exokey:exotoken-access-9d3e",
  elevenlabsWebhookSecret: "wsec_access_test_8f7e6d",
  adminToken: "admintoken-access-0123456789abcdef",
  consoleBasicAuth: "ops:console-password-4c5d",
  callsApiToken: "callsapitoken-access-fedcba987654",
  exotelApiKey: "exo-api-key-access-11aa",
  exotelApiToken: "exo-api-token-access-22bb",
  exotelWebhookToken: "exo-webhook-token-access-33cc",
};

let run: ProgramRun;
type Env = {
  name: string;
  value?: string;
  valueSource?: { secretKeyRef: { secret: string; version: string } };
};
let envs: Env[];

before(async () => {
  run = await runProgram(
    {
      "gcp:project": PROJECT_ID,
      ...Object.fromEntries(Object.entries(VALUES).map(([k, v]) => [`exotel-bridge:${k}`, v])),
      "exotel-bridge:logCallerNumbers": "full",
      "exotel-bridge:logTranscripts": "lines",
      "exotel-bridge:bridgeEnv": JSON.stringify({
        EXOTEL_ACCOUNT_SID: "acme1",
        EXOTEL_CALLER_ID: "+918047491899",
        PUBLIC_BASE_URL: "https://bridge.example.com",
      }),
    },
    Object.keys(VALUES)
      .filter((k) => k !== "elevenlabsAgentId")
      .map((k) => `exotel-bridge:${k}`),
  );
  const service = plain(single(run, "gcp:cloudrunv2/service:Service").inputs) as {
    template: { containers: { envs: Env[] }[] };
  };
  envs = service.template.containers[0]?.envs ?? [];
});

describe("every managed credential", () => {
  it("is listed once in infra/managed-secrets.json, and the program manages exactly that list", () => {
    assert.deepEqual(Object.keys(VALUES).sort(), Object.keys(MANAGED_SECRETS).sort());
    const refs = envs.filter((e) => e.valueSource !== undefined).map((e) => e.name);
    assert.deepEqual(
      refs.sort(),
      Object.values(MANAGED_SECRETS)
        .map((s) => s.env)
        .sort(),
    );
  });

  it("reaches the service as a pinned Secret Manager reference, never as a value", () => {
    for (const { env } of Object.values(MANAGED_SECRETS)) {
      const e = envs.find((x) => x.name === env);
      assert.ok(e, `${env} is set`);
      assert.equal(e.value, undefined, `${env} has no literal value`);
      assert.deepEqual(e.valueSource?.secretKeyRef, {
        secret: `${SERVICE}-${env.toLowerCase().replace(/_/g, "-")}`,
        version: MOCK_SECRET_VERSION,
      });
    }
  });

  it("appears in clear nowhere: not in any input outside its version's payload, not in any output", () => {
    for (const r of run.resources) {
      for (const [key, value] of Object.entries(r.inputs)) {
        for (const s of strings(value)) {
          for (const [name, secret] of Object.entries(VALUES)) {
            if (!s.text.includes(secret)) continue;
            assert.equal(
              r.type,
              "gcp:secretmanager/secretVersion:SecretVersion",
              `${name} in ${r.name}.${key}`,
            );
            assert.equal(key, "secretData");
            assert.ok(s.insideSecret, `${name} in ${r.name} is marked secret`);
          }
        }
      }
    }
    for (const [key, output] of Object.entries(run.outputs)) {
      assert.equal(output.secret, false, `${key} carries no secret`);
      for (const s of strings(output.value)) {
        for (const [name, secret] of Object.entries(VALUES))
          assert.ok(!s.text.includes(secret), `${name} in ${key}`);
      }
    }
  });

  it("is readable by the runtime identity alone, and the revision waits for every version and grant", () => {
    const sa = `serviceAccount:${plain(single(run, "gcp:serviceaccount/account:Account").state.email) as string}`;
    const accessors = ofType(run, "gcp:secretmanager/secretIamMember:SecretIamMember").map(
      (r) => plain(r.inputs) as Record<string, string>,
    );
    assert.equal(accessors.length, Object.keys(MANAGED_SECRETS).length);
    for (const a of accessors) {
      assert.equal(a.member, sa);
      assert.equal(a.role, "roles/secretmanager.secretAccessor");
    }
    const deps = dependencyClosure(run, single(run, "gcp:cloudrunv2/service:Service"));
    const needed = [
      ...ofType(run, "gcp:secretmanager/secretVersion:SecretVersion"),
      ...ofType(run, "gcp:secretmanager/secretIamMember:SecretIamMember"),
    ];
    assert.equal(needed.length, 2 * Object.keys(MANAGED_SECRETS).length);
    for (const r of needed) assert.ok(r.urn && deps.has(r.urn), `the service waits for ${r.name}`);
  });
});

describe("privacy and console settings on the service", () => {
  it("passes the privacy settings as plain variables, JSON logs, and the console switch", () => {
    const value = (name: string) => envs.find((e) => e.name === name)?.value;
    assert.equal(value("LOG_CALLER_NUMBERS"), "full");
    assert.equal(value("LOG_TRANSCRIPTS"), "lines");
    assert.equal(value("LOG_FORMAT"), "json");
    assert.equal(value("CONSOLE_ENABLED"), "true");
  });

  it("exports the console URL (the credential stays in Secret Manager)", () => {
    assert.equal(run.outputs.consoleUrl?.value, `https://${SERVICE}-x7k2q9abcd-el.a.run.app/console`);
  });
});

describe("access configuration", () => {
  function load(extra: Record<string, string>) {
    pulumi.runtime.setAllConfig(
      {
        "gcp:project": "my-project-123",
        "exotel-bridge:elevenlabsApiKey": "sk_x",
        "exotel-bridge:elevenlabsAgentId": "agent_x",
        ...extra,
      },
      ["exotel-bridge:elevenlabsApiKey"],
    );
    return loadConfig();
  }
  function problems(extra: Record<string, string>): string[] {
    try {
      load(extra);
    } catch (err) {
      assert.ok(err instanceof ConfigError);
      return err.problems;
    }
    return [];
  }
  const prod = { "exotel-bridge:production": "true", "exotel-bridge:exotelBasicAuth": "key:token" };

  it("leaves a production console off unless it has its own credential", () => {
    assert.deepEqual(load(prod).console, { enabled: false, reachable: false });
    assert.deepEqual(load({ ...prod, "exotel-bridge:consoleBasicAuth": "ops:pw" }).console, {
      enabled: true,
      reachable: true,
    });
    assert.deepEqual(problems({ ...prod, "exotel-bridge:consoleEnabled": "true" }), [
      "exotel-bridge:consoleEnabled needs exotel-bridge:consoleBasicAuth on a production stack " +
        "(pulumi config set --secret consoleBasicAuth user:password): Exotel's credential is shared with Exotel",
    ]);
    assert.equal(
      load({ ...prod, "exotel-bridge:consoleBasicAuth": "ops:pw", "exotel-bridge:consoleEnabled": "false" })
        .console.enabled,
      false,
    );
  });

  it("leaves a dev console on, reachable with Exotel's credential as the bridge's fallback", () => {
    assert.deepEqual(load({}).console, { enabled: true, reachable: false });
    assert.deepEqual(load({ "exotel-bridge:exotelBasicAuth": "key:token" }).console, {
      enabled: true,
      reachable: true,
    });
    assert.equal(load({ "exotel-bridge:consoleEnabled": "false" }).console.enabled, false);
  });

  it("defaults privacy to the bridge's own defaults and names bad values without echoing credentials", () => {
    assert.deepEqual(load({}).privacy, { callerNumbers: "masked", transcripts: "off" });
    const found = problems({
      "exotel-bridge:logCallerNumbers": "partial",
      "exotel-bridge:logTranscripts": "all",
      "exotel-bridge:adminToken": "too short",
      "exotel-bridge:consoleBasicAuth": "nocolonpassword",
    });
    assert.deepEqual(
      found.sort(),
      [
        'exotel-bridge:consoleBasicAuth must look like "user:password"',
        "exotel-bridge:adminToken must be 16-512 printable characters without spaces (openssl rand -hex 32)",
        "exotel-bridge:logCallerNumbers must be one of masked, full",
        "exotel-bridge:logTranscripts must be one of off, summary, lines",
      ].sort(),
    );
    assert.ok(!found.join("\n").includes("too short") && !found.join("\n").includes("nocolonpassword"));
  });

  it("refuses an address rule for /metrics: behind Cloud Run's front end only the admin token works", () => {
    assert.deepEqual(
      problems({ "exotel-bridge:bridgeEnv": JSON.stringify({ METRICS_ALLOWED_CIDRS: "0.0.0.0/0" }) }),
      [
        "exotel-bridge:bridgeEnv: METRICS_ALLOWED_CIDRS cannot tell a scraper from the public behind Cloud Run's " +
          "front end; set adminToken and scrape with it",
      ],
    );
    // The bridge's other new plain settings pass through bridgeEnv.
    const cfg = load({
      "exotel-bridge:bridgeEnv": JSON.stringify({ HTTP_REQUEST_TIMEOUT_MS: 20000, MAX_CONNECTIONS: 400 }),
    });
    assert.deepEqual(cfg.bridgeEnv, { HTTP_REQUEST_TIMEOUT_MS: "20000", MAX_CONNECTIONS: "400" });
  });

  it("reads the admin token and the console credential as secrets", async () => {
    const cfg = load({
      "exotel-bridge:adminToken": VALUES.adminToken as string,
      "exotel-bridge:consoleBasicAuth": "a:b",
    });
    for (const o of [cfg.secrets.adminToken, cfg.secrets.consoleBasicAuth]) {
      assert.ok(o !== undefined);
      assert.equal(await pulumi.isSecret(o), true);
    }
  });
});
