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

  it("use the Pulumi CLI version that matches the pinned SDK, and Node 20", () => {
    const sdk = rootPackage.devDependencies["@pulumi/pulumi"];
    assert.equal(sdk, "3.248.0", "the SDK stays pinned exactly (later releases need Node 22)");
    const pins = all.flatMap((t) => [...t.matchAll(/PULUMI_VERSION: "([^"]+)"|pulumi-version: "([^"]+)"/g)]);
    assert.ok(pins.length >= 2);
    for (const m of pins) assert.equal(m[1] ?? m[2], sdk);
    for (const m of all.flatMap((t) => [...t.matchAll(/node-version: "?([\d.]+)"?/g)]))
      assert.equal(m[1], "20");
    assert.match(ci, /NODE_VERSION: "20"/);
  });
});
