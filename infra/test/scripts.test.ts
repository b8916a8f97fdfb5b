// scripts/deploy.sh and scripts/rotate-secret.sh, run for real by bash against stand-ins for the
// tools they drive (pulumi, docker, gcloud, npm, curl) that record how they were called. A copy of
// each script runs in a temporary "repository" so the stack file can be varied.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, describe, it } from "node:test";
import { MANAGED_SECRETS } from "../config";

const ROOT = path.resolve(__dirname, "..", "..");
const SECRETS_FILE = "managed-secrets.json";

/** The tail of the URN the program gives a managed credential's secret version. */
function versionUrnTail(env: string): string {
  const slug = env.toLowerCase().replace(/_/g, "-");
  return `exotel-bridge:infra:BridgeSecrets$gcp:secretmanager/secretVersion:SecretVersion::secrets-${slug}-version`;
}

/** A value the bridge (and so the stack) accepts for each managed key. */
const GOOD_VALUES: Record<string, string> = {
  elevenlabsApiKey: "sk_rotated_0123",
  elevenlabsAgentId: "agent_rotated_0123",
  exotelBasicAuth: "newkey:newtoken",
  elevenlabsWebhookSecret: "wsec_rotated_0123",
  adminToken: "admin-rotated-0123456789abcdef",
  consoleBasicAuth: "ops:new-console-password",
  callsApiToken: "calls-rotated-0123456789abcdef",
  exotelApiKey: "exo-key-rotated",
  exotelApiToken: "exo-token-rotated",
  exotelWebhookToken: "hook-rotated-0123456789",
};
const temps: string[] = [];
after(() => {
  for (const dir of temps) fs.rmSync(dir, { recursive: true, force: true });
});

const FILLED_STACK = `config:
  gcp:project: bridge-prod-4711
  gcp:region: asia-south1
  exotel-bridge:elevenlabsAgentId: agent_real_1
  exotel-bridge:elevenlabsApiKey:
    secure: v1:abc:def
`;

// A stand-in CLI: appends "<name> <args>" (and "<name> stdin <data>" when data is piped) to
// $FAKE_LOG, answers the few questions the scripts ask, and fails where FAKE_FAIL says so.
const FAKE = `#!/usr/bin/env bash
set -u
name="$(basename "$0")"
echo "$name $*" >> "$FAKE_LOG"
case "$name $*" in
  *"\${FAKE_FAIL:-<none>}"*) exit 1 ;;
esac
case "$name $*" in
  "pulumi config set"*) echo "$name stdin $(cat)" >> "$FAKE_LOG" ;;
  "pulumi config --stack "*" --json")
    case "\${FAKE_API_KEY:-secret}" in
      secret) echo '{"exotel-bridge:elevenlabsApiKey":{"secret":true},"gcp:project":{"value":"p","secret":false}}' ;;
      plain) echo '{"exotel-bridge:elevenlabsApiKey":{"value":"sk","secret":false}}' ;;
      missing) echo '{}' ;;
    esac ;;
  "pulumi stack export"*) cat "$FAKE_EXPORT" ;;
  "pulumi stack output serviceUrl"*) echo "https://exotel-bridge-prod-abc-el.a.run.app" ;;
  "pulumi stack output exotelStreamUrl"*) echo "wss://exotel-bridge-prod-abc-el.a.run.app/media" ;;
  "pulumi stack output consoleUrl"*)
    # Like the real CLI: an output the stack does not export is an error.
    [[ -n "\${FAKE_CONSOLE_URL:-}" ]] || { echo "error: current stack does not have output property 'consoleUrl'" >&2; exit 1; }
    echo "$FAKE_CONSOLE_URL" ;;
  "gcloud auth application-default print-access-token") echo "ya29.token" ;;
esac
exit 0
`;

interface Sandbox {
  repo: string;
  log: string;
  path: string;
}

function sandbox(opts: { stackFile?: string; stack?: string; tools?: string[] } = {}): Sandbox {
  const repo = fs.mkdtempSync(path.join(os.tmpdir(), "exotel-bridge-scripts-"));
  temps.push(repo);
  fs.mkdirSync(path.join(repo, "scripts"));
  for (const script of ["deploy.sh", "rotate-secret.sh"]) {
    fs.copyFileSync(path.join(ROOT, "scripts", script), path.join(repo, "scripts", script));
  }
  // The list of managed credentials rotate-secret.sh reads (shared with infra/config.ts).
  fs.mkdirSync(path.join(repo, "infra"));
  fs.copyFileSync(path.join(ROOT, "infra", SECRETS_FILE), path.join(repo, "infra", SECRETS_FILE));
  fs.writeFileSync(path.join(repo, `Pulumi.${opts.stack ?? "prod"}.yaml`), opts.stackFile ?? FILLED_STACK);
  for (const [pkg, version] of [
    ["@pulumi/pulumi", "3.276.0"],
    ["@pulumi/gcp", "9.37.0"],
    ["@pulumi/docker-build", "0.0.22"],
  ]) {
    fs.mkdirSync(path.join(repo, "node_modules", pkg as string), { recursive: true });
    fs.writeFileSync(
      path.join(repo, "node_modules", pkg as string, "package.json"),
      JSON.stringify({ version }),
    );
  }
  fs.mkdirSync(path.join(repo, "app", "node_modules"), { recursive: true });
  const bin = path.join(repo, ".bin");
  fs.mkdirSync(bin);
  for (const tool of opts.tools ?? ["pulumi", "docker", "gcloud", "npm", "curl"]) {
    fs.writeFileSync(path.join(bin, tool), FAKE, { mode: 0o755 });
  }
  // Real tools the scripts use, and nothing else from this machine (no real pulumi/docker/gcloud).
  for (const tool of ["bash", "node", "sed", "grep", "dirname", "basename", "cat", "awk", "tr"]) {
    const found = spawnSync("bash", ["-c", `command -v ${tool}`], { encoding: "utf8" }).stdout.trim();
    assert.ok(found, `${tool} available`);
    fs.symlinkSync(found, path.join(bin, `${tool}`));
  }
  // What `pulumi stack export` shows of a deployed stack: URNs as the program names them.
  const stackUrn = "urn:pulumi:prod::exotel-bridge";
  const urns = [
    `${stackUrn}::pulumi:pulumi:Stack::exotel-bridge-prod`,
    ...Object.values(MANAGED_SECRETS).map((s) => `${stackUrn}::${versionUrnTail(s.env)}`),
    `${stackUrn}::exotel-bridge:infra:BridgeImage$docker-build:index:Image::bridge-image`,
    `${stackUrn}::exotel-bridge:infra:BridgeService$gcp:cloudrunv2/service:Service::bridge-service`,
  ];
  fs.writeFileSync(
    path.join(repo, "export.json"),
    JSON.stringify({ version: 3, deployment: { resources: urns.map((urn) => ({ urn })) } }),
  );
  return { repo, log: path.join(repo, "calls.log"), path: bin };
}

function run(sb: Sandbox, script: string, args: string[], env: Record<string, string> = {}, input = "") {
  const result = spawnSync(path.join(sb.repo, "scripts", script), args, {
    cwd: os.tmpdir(),
    env: {
      PATH: sb.path,
      HOME: sb.repo,
      FAKE_LOG: sb.log,
      FAKE_EXPORT: path.join(sb.repo, "export.json"),
      ...env,
    },
    input,
    encoding: "utf8",
    timeout: 30_000,
  });
  const calls = fs.existsSync(sb.log) ? fs.readFileSync(sb.log, "utf8").trim().split("\n") : [];
  return { ...result, calls };
}

describe("scripts/deploy.sh", () => {
  it("checks prerequisites, runs the tests and pulumi up, and ends with the Exotel stream URL", () => {
    const sb = sandbox();
    const r = run(sb, "deploy.sh", ["--stack", "prod", "--yes"]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /Exotel stream URL:\s+wss:\/\/exotel-bridge-prod-abc-el\.a\.run\.app\/media\n/);
    const expectedOrder = [
      "pulumi whoami",
      "docker info",
      "gcloud auth application-default print-access-token",
      "pulumi stack select --create prod",
      "pulumi config --stack prod --json",
      "npm test",
      "pulumi plugin install resource gcp 9.37.0",
      "pulumi plugin install resource docker-build 0.0.22",
      "pulumi up --stack prod --yes",
      "pulumi stack output serviceUrl --stack prod",
      "pulumi stack output exotelStreamUrl --stack prod",
      "pulumi stack output consoleUrl --stack prod",
      "curl -fsS --retry 10 --retry-delay 3 --retry-all-errors https://exotel-bridge-prod-abc-el.a.run.app/health",
    ];
    assert.deepEqual(r.calls, expectedOrder);
  });

  it("tells the operator where health, details, metrics and (when exported) the console are", () => {
    const without = run(sandbox(), "deploy.sh", ["--stack", "prod", "--yes"]);
    assert.equal(without.status, 0, without.stderr);
    assert.match(
      without.stdout,
      /Health \(public\):\s+https:\/\/exotel-bridge-prod-abc-el\.a\.run\.app\/health\n/,
    );
    assert.match(
      without.stdout,
      /\/health\/details and \/metrics, with "Authorization: Bearer <adminToken>"/,
    );
    assert.doesNotMatch(without.stdout + without.stderr, /console/i, "no console line, no CLI error shown");
    const url = "https://exotel-bridge-prod-abc-el.a.run.app/console";
    const withConsole = run(sandbox(), "deploy.sh", ["--stack", "prod", "--yes"], { FAKE_CONSOLE_URL: url });
    assert.equal(withConsole.status, 0, withConsole.stderr);
    assert.ok(withConsole.stdout.includes(`Live call console:  ${url} (HTTP Basic auth`), withConsole.stdout);
  });

  it("calls nothing from outside on a path ending in z (Cloud Run's front end keeps those)", () => {
    const r = run(sandbox(), "deploy.sh", ["--stack", "prod", "--yes"]);
    const urls = r.calls.flatMap((c) => c.match(/https?:\/\/\S+/g) ?? []);
    assert.ok(urls.length > 0);
    for (const url of urls) assert.doesNotMatch(new URL(url).pathname, /z$/, url);
  });

  it("refuses a stack file that still holds placeholders, before touching anything", () => {
    const sb = sandbox({
      stackFile: fs.readFileSync(path.join(ROOT, "Pulumi.dev.yaml"), "utf8"),
      stack: "dev",
    });
    const r = run(sb, "deploy.sh", ["--yes"]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /placeholders/);
    assert.match(r.stderr, /your-gcp-project-id/);
    assert.ok(!r.calls.some((c) => c.startsWith("pulumi up")));
  });

  it("refuses an API key that is missing or stored in plain text", () => {
    for (const [state, message] of [
      ["missing", /no ElevenLabs API key/],
      ["plain", /stored in plain text/],
    ] as const) {
      const sb = sandbox();
      const r = run(sb, "deploy.sh", ["-s", "prod", "-y"], { FAKE_API_KEY: state });
      assert.equal(r.status, 1, state);
      assert.match(r.stderr, message);
      assert.ok(!r.calls.some((c) => c.startsWith("pulumi up")), state);
    }
  });

  it("names the missing tool or the stopped Docker engine", () => {
    const noPulumi = run(sandbox({ tools: ["docker", "gcloud", "npm", "curl"] }), "deploy.sh", [
      "-s",
      "prod",
    ]);
    assert.equal(noPulumi.status, 1);
    assert.match(noPulumi.stderr, /pulumi not found\. Install the Pulumi CLI/);
    const noDocker = run(sandbox(), "deploy.sh", ["-s", "prod"], { FAKE_FAIL: "docker info" });
    assert.equal(noDocker.status, 1);
    assert.match(noDocker.stderr, /Docker engine is not running/);
    const noAdc = run(sandbox(), "deploy.sh", ["-s", "prod"], { FAKE_FAIL: "gcloud auth" });
    assert.match(noAdc.stderr, /gcloud auth application-default login/);
  });

  it("reports every missing prerequisite in one run, then stops before changing anything", () => {
    const sb = sandbox({
      tools: ["gcloud", "npm", "curl"],
      stackFile: "config:\n  gcp:project: your-gcp-project-id\n",
    });
    const r = run(sb, "deploy.sh", ["-s", "prod", "-y"], { FAKE_FAIL: "gcloud auth" });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /4 prerequisite\(s\) missing/);
    assert.match(r.stderr, /pulumi not found/);
    assert.match(r.stderr, /docker not found/);
    assert.match(r.stderr, /gcloud auth application-default login/);
    assert.match(r.stderr, /placeholders[\s\S]*your-gcp-project-id/);
    assert.deepEqual(r.calls, ["gcloud auth application-default print-access-token"]);
  });

  it("skips the tests on request and rejects unknown options", () => {
    const skipped = run(sandbox(), "deploy.sh", ["-s", "prod", "-y", "--skip-tests"]);
    assert.equal(skipped.status, 0, skipped.stderr);
    assert.ok(!skipped.calls.includes("npm test"));
    assert.equal(run(sandbox(), "deploy.sh", ["--bogus"]).status, 2);
  });
});

describe("scripts/rotate-secret.sh", () => {
  it("passes the new value on stdin only, then updates only that secret's version and the service", () => {
    const sb = sandbox();
    const r = run(
      sb,
      "rotate-secret.sh",
      ["--stack", "prod", "--yes", "elevenlabsApiKey"],
      {},
      "sk_new_value_42\n",
    );
    assert.equal(r.status, 0, r.stderr);
    const urn = "urn:pulumi:prod::exotel-bridge::exotel-bridge:infra:";
    assert.deepEqual(r.calls, [
      "pulumi config set --stack prod --secret elevenlabsApiKey",
      "pulumi stdin sk_new_value_42",
      "pulumi stack export --stack prod",
      "pulumi up --stack prod " +
        `--target ${urn}BridgeSecrets$gcp:secretmanager/secretVersion:SecretVersion::secrets-elevenlabs-api-key-version ` +
        `--target ${urn}BridgeService$gcp:cloudrunv2/service:Service::bridge-service --yes`,
      "pulumi stack output exotelStreamUrl --stack prod",
    ]);
    assert.ok(!r.calls.some((c) => c.includes("docker-build")), "the image is not rebuilt");
    assert.ok(!r.stdout.includes("sk_new_value_42") && !r.stderr.includes("sk_new_value_42"));
    assert.match(r.stdout, /restorable for 7 days/);
    assert.match(r.stdout, /commit and push Pulumi\.prod\.yaml/);
    assert.match(r.stdout, /revoke the old credential/);
  });

  it("with --config-only stores the value and leaves deploying to CI", () => {
    const r = run(
      sandbox(),
      "rotate-secret.sh",
      ["-s", "prod", "--config-only", "exotelBasicAuth"],
      {},
      "k:t",
    );
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(r.calls, [
      "pulumi config set --stack prod --secret exotelBasicAuth",
      "pulumi stdin k:t",
    ]);
    assert.match(r.stdout, /Nothing deployed\. Commit and push Pulumi\.prod\.yaml/);
  });

  it("refuses to guess when the stack has nothing deployed yet", () => {
    const sb = sandbox();
    fs.writeFileSync(path.join(sb.repo, "export.json"), JSON.stringify({ deployment: { resources: [] } }));
    const r = run(sb, "rotate-secret.sh", ["-s", "prod", "-y", "elevenlabsAgentId"], {}, "agent_new");
    assert.equal(r.status, 1);
    assert.match(r.stderr, /no deployed elevenlabsAgentId secret version/);
    assert.ok(!r.calls.some((c) => c.startsWith("pulumi up")));
  });

  it("refuses a working tree with uncommitted code, so a rotation cannot ship it", () => {
    const sb = sandbox();
    const git = spawnSync("bash", ["-c", "command -v git"], { encoding: "utf8" }).stdout.trim();
    assert.ok(git, "git available");
    fs.symlinkSync(git, path.join(sb.path, "git"));
    const inRepo = (...args: string[]) =>
      spawnSync("git", ["-c", "user.email=t@example.com", "-c", "user.name=t", ...args], { cwd: sb.repo });
    inRepo("init", "-q");
    inRepo("add", "-A");
    inRepo("commit", "-qm", "base");
    fs.writeFileSync(path.join(sb.repo, "scripts", "extra.ts"), "// not reviewed\n");
    const r = run(sb, "rotate-secret.sh", ["-s", "prod", "-y", "elevenlabsApiKey"], {}, "sk_x");
    assert.equal(r.status, 1);
    assert.match(r.stderr, /uncommitted changes[\s\S]*scripts\/extra\.ts/);
    assert.ok(!r.calls.some((c) => c.startsWith("pulumi config set")), "nothing stored");
    // The stack file alone may differ (it is what a rotation changes).
    fs.rmSync(path.join(sb.repo, "scripts", "extra.ts"));
    fs.appendFileSync(path.join(sb.repo, "Pulumi.prod.yaml"), "# edited\n");
    const ok = run(sb, "rotate-secret.sh", ["-s", "prod", "-y", "elevenlabsApiKey"], {}, "sk_x");
    assert.equal(ok.status, 0, ok.stderr);
  });

  it("prints its help and nothing else for --help, and exits 0", () => {
    for (const script of ["rotate-secret.sh", "deploy.sh"]) {
      const r = run(sandbox(), script, ["--help"]);
      assert.equal(r.status, 0, script);
      assert.equal(r.stderr, "", script);
      assert.deepEqual(r.calls, [], `${script} runs nothing`);
      assert.doesNotMatch(r.stdout, /set -euo|^#/m, `${script}: only the help text`);
      assert.match(r.stdout, /^(Rotate|Deploy) /);
      assert.match(r.stdout, /scripts\/(rotate-secret|deploy)\.sh \[--stack dev\]/);
    }
  });

  it("rotates every credential the stack manages, each by its own secret version", () => {
    assert.deepEqual(Object.keys(GOOD_VALUES).sort(), Object.keys(MANAGED_SECRETS).sort());
    const urn = "urn:pulumi:prod::exotel-bridge::";
    for (const [key, spec] of Object.entries(MANAGED_SECRETS)) {
      const value = GOOD_VALUES[key] as string;
      const r = run(sandbox(), "rotate-secret.sh", ["-s", "prod", "-y", key], {}, `${value}\n`);
      assert.equal(r.status, 0, `${key}: ${r.stderr}`);
      assert.deepEqual(r.calls.slice(0, 4), [
        `pulumi config set --stack prod --secret ${key}`,
        `pulumi stdin ${value}`,
        "pulumi stack export --stack prod",
        `pulumi up --stack prod --target ${urn}${versionUrnTail(spec.env)} ` +
          `--target ${urn}exotel-bridge:infra:BridgeService$gcp:cloudrunv2/service:Service::bridge-service --yes`,
      ]);
      assert.ok(!r.stdout.includes(value) && !r.stderr.includes(value), `${key}: the value is never printed`);
    }
  });

  it("lists the managed keys in its help, and refuses a value the bridge would refuse", () => {
    const help = run(sandbox(), "rotate-secret.sh", ["--help"]);
    for (const key of Object.keys(MANAGED_SECRETS)) assert.match(help.stdout, new RegExp(`\\b${key}\\b`));
    const short = run(sandbox(), "rotate-secret.sh", ["-s", "prod", "adminToken"], {}, "short-token");
    assert.equal(short.status, 1);
    assert.match(short.stderr, /adminToken must be 16-512 printable characters/);
    assert.ok(!short.stderr.includes("short-token"), "the refused value is not echoed");
    assert.ok(!short.calls.some((c) => c.startsWith("pulumi")), "nothing stored");
    const console = run(sandbox(), "rotate-secret.sh", ["-s", "prod", "consoleBasicAuth"], {}, "nocolon");
    assert.equal(console.status, 1);
    assert.match(console.stderr, /user:password/);
  });

  it("rejects unknown keys, empty values and a Basic-auth value without a colon", () => {
    const unknown = run(sandbox(), "rotate-secret.sh", ["somethingElse"], {}, "x");
    assert.equal(unknown.status, 2);
    assert.match(unknown.stderr, /"somethingElse" is not a credential this stack manages/);
    assert.deepEqual(unknown.calls, []);
    const empty = run(sandbox(), "rotate-secret.sh", ["elevenlabsApiKey"], {}, "");
    assert.equal(empty.status, 1);
    assert.match(empty.stderr, /empty value/);
    const noColon = run(sandbox(), "rotate-secret.sh", ["exotelBasicAuth"], {}, "justatoken");
    assert.equal(noColon.status, 1);
    assert.match(noColon.stderr, /key:token/);
    assert.ok(!noColon.calls.some((c) => c.startsWith("pulumi")));
  });
});

describe("shell scripts", () => {
  it("are executable, strict (set -euo pipefail) and parse", () => {
    for (const script of ["deploy.sh", "rotate-secret.sh"]) {
      const file = path.join(ROOT, "scripts", script);
      assert.ok(fs.statSync(file).mode & 0o111, `${script} is executable`);
      assert.match(fs.readFileSync(file, "utf8"), /^#!\/usr\/bin\/env bash\n(#.*\n)*set -euo pipefail$/m);
      assert.equal(spawnSync("bash", ["-n", file]).status, 0, `${script} parses`);
    }
  });
});
