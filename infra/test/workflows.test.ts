// The CI workflows' deployment contract, read from the files (their schema is checked by
// `npm run lint:ci` with action-validator): keyless Google auth, secrets only from GitHub secrets,
// preview on pull requests, deploy on main, and the same Pulumi version as the SDK we pin.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";

const ROOT = path.resolve(__dirname, "..", "..");
const WORKFLOWS = path.join(ROOT, ".github", "workflows");
const read = (name: string) => fs.readFileSync(path.join(WORKFLOWS, name), "utf8");
const ci = read("ci.yml");
const deploy = read("deploy.yml");
const all = fs
  .readdirSync(WORKFLOWS)
  .filter((f) => f.endsWith(".yml"))
  .map(read);
const rootPackage = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8"));

describe("CI workflows", () => {
  it("authenticate to Google only through Workload Identity Federation", () => {
    for (const text of all) {
      assert.doesNotMatch(text, /credentials_json|GOOGLE_APPLICATION_CREDENTIALS|service_account_key/);
    }
    for (const text of [ci, deploy]) {
      assert.match(
        text,
        /google-github-actions\/auth@v\d+\s+with:\s+workload_identity_provider: \$\{\{ vars\./,
      );
      assert.match(text, /id-token: write/);
    }
  });

  it("take the state backend from a variable and the passphrase from a secret", () => {
    for (const text of [ci, deploy]) {
      assert.match(text, /cloud-url: \$\{\{ vars\.PULUMI_BACKEND_URL \}\}/);
      assert.match(text, /PULUMI_CONFIG_PASSPHRASE: \$\{\{ secrets\.PULUMI_CONFIG_PASSPHRASE \}\}/);
    }
  });

  it("run the tests first, preview on pull requests and deploy dev then prod from main", () => {
    assert.match(ci, /run: bash \.ci\/run/);
    assert.match(ci, /preview:[\s\S]*github\.event_name == 'pull_request'[\s\S]*command: preview/);
    assert.match(ci, /deploy-dev:[\s\S]*github\.ref == 'refs\/heads\/main'[\s\S]*stack: dev/);
    assert.match(ci, /deploy-prod:[\s\S]*needs\.deploy-dev\.result == 'success'[\s\S]*stack: prod/);
    assert.match(deploy, /command: up/);
    assert.match(deploy, /environment: \$\{\{ inputs\.stack \}\}/);
  });

  it("use the Pulumi CLI version that matches the pinned SDK", () => {
    const sdk = rootPackage.devDependencies["@pulumi/pulumi"];
    assert.match(sdk, /^3\.\d+\.\d+$/, "the SDK stays pinned exactly");
    const pins = all.flatMap((t) => [...t.matchAll(/PULUMI_VERSION: "([^"]+)"|pulumi-version: "([^"]+)"/g)]);
    assert.ok(pins.length >= 2);
    for (const m of pins) assert.equal(m[1] ?? m[2], sdk);
  });

  it("call nothing from outside on a path ending in z (Cloud Run's front end answers those itself)", () => {
    const urls = all.flatMap((t) => [...t.matchAll(/(https?:\/\/|\$SERVICE_URL)[^\s"']*/g)].map((m) => m[0]));
    assert.ok(urls.includes("$SERVICE_URL/health"), "the deploy smoke test calls /health");
    for (const url of urls) {
      const pathname = url.replace(/^(https?:\/\/[^/]+|\$SERVICE_URL)/, "").split("?")[0] ?? "";
      assert.doesNotMatch(pathname, /z$/, url);
    }
  });

  it("build the real image with BuildKit for linux/amd64, start it, and place one call through it", () => {
    const job = ci.slice(ci.indexOf("\n  image:"), ci.indexOf("\n  preview:"));
    assert.ok(job.length > 100, "ci.yml has an image job");
    assert.match(job, /docker\/setup-buildx-action@v\d+/);
    assert.match(job, /docker buildx build --platform linux\/amd64 --load --tag (\S+) app\//);
    assert.match(job, /docker run -d --name bridge/);
    assert.match(job, /curl -fsS [^\n]*http:\/\/127\.0\.0\.1:8080\/health\n/);
    assert.match(job, /npm run agent -- --api-key/);
    assert.match(job, /npm run call -- ws:\/\/127\.0\.0\.1:8080\/media/);
    assert.match(job, /docker stop --time 10 bridge/);
    // Every pull request, no secrets: the job has no `if:` and no environment.
    assert.doesNotMatch(job, /^ {4}if:/m);
    assert.doesNotMatch(job, /environment:/);
    assert.match(ci, /deploy-dev:[\s\S]*needs: \[test, image\]/);
  });
});

describe("Node.js version", () => {
  const major = (v: string) => /(\d+)/.exec(v)?.[1];
  const supported = rootPackage.devDependencies.node as string;
  const appPackage = JSON.parse(fs.readFileSync(path.join(ROOT, "app", "package.json"), "utf8"));
  const dockerfile = fs.readFileSync(path.join(ROOT, "app", "Dockerfile"), "utf8");

  it("is one supported LTS major everywhere: image, CI, engines and the tests' own Node", () => {
    // Node 20 reached end of life on 2026-04-30; 24 is the Active LTS.
    assert.equal(major(supported), "24");
    assert.equal(/^ARG NODE_VERSION=(\d+)$/m.exec(dockerfile)?.[1], "24");
    assert.match(dockerfile, /^FROM node:\$\{NODE_VERSION\}-/m);
    assert.match(ci, /NODE_VERSION: "24"/);
    for (const m of all.flatMap((t) => [...t.matchAll(/node-version: "?([\d.]+)"?/g)]))
      assert.equal(m[1], "24");
    assert.equal(rootPackage.engines.node, ">=24");
    assert.equal(appPackage.engines.node, ">=24");
    assert.equal(rootPackage.allowScripts?.node, true, "the node package's install step is approved");
  });

  it("runs this test on that major when started through npm (node_modules/.bin first on PATH)", () => {
    if (process.env.npm_lifecycle_event === undefined) return; // started by hand, with whatever node
    assert.equal(major(process.versions.node), major(supported), process.execPath);
  });
});
