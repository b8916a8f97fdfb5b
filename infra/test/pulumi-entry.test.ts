// Would the Pulumi CLI find and run this program? The CLI cannot be installed here, so this starts
// the part of Pulumi that runs Node programs, @pulumi/pulumi/cmd/run, the way the CLI's language
// host does: in the directory Pulumi.yaml's `main` names, with program ".", the same flags and
// environment. The SDK then finds index.ts through infra/package.json, compiles it with its
// vendored ts-node against infra/tsconfig.json (type-checking, as `pulumi up` does) and runs it
// against Pulumi's mock monitor (support/pulumi-entry.cjs). This catches ESM/CJS mistakes, a wrong
// `main`, and TypeScript that tsc accepts but Pulumi's compiler settings do not.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";

const ROOT = path.resolve(__dirname, "..", "..");

function mainDirectory(): string {
  const yaml = fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8");
  const main = /^main:\s*(\S+)\s*$/m.exec(yaml)?.[1];
  assert.ok(main, "Pulumi.yaml names a main directory");
  return path.resolve(ROOT, main);
}

describe("the Pulumi CLI's Node.js runner", () => {
  it("finds infra/index.ts from Pulumi.yaml, compiles it with ts-node and runs the whole program", () => {
    const programDir = mainDirectory();
    assert.equal(programDir, path.join(ROOT, "infra"));
    const runner = require.resolve("@pulumi/pulumi/cmd/run", { paths: [programDir] });
    const config = {
      "gcp:project": "entry-test-project",
      "exotel-bridge:elevenlabsApiKey": "entry-test-key",
      "exotel-bridge:elevenlabsAgentId": "agent_entry_test",
      "exotel-bridge:sampleRate": "8000",
    };
    const stdout = execFileSync(
      process.execPath,
      [
        "-r",
        path.join(__dirname, "support", "pulumi-entry.cjs"),
        runner,
        ...["--monitor", "mock", "--project", "exotel-bridge", "--stack", "dev", "--pwd", programDir, "."],
      ],
      {
        cwd: programDir,
        env: {
          PATH: process.env.PATH ?? "",
          HOME: process.env.HOME ?? "",
          // What the language host sets for a TypeScript project (runtime option typescript: true).
          PULUMI_NODEJS_TYPESCRIPT: "true",
          PULUMI_NODEJS_PROJECT: "exotel-bridge",
          PULUMI_NODEJS_STACK: "dev",
          PULUMI_CONFIG: JSON.stringify(config),
          PULUMI_CONFIG_SECRET_KEYS: JSON.stringify(["exotel-bridge:elevenlabsApiKey"]),
        },
        encoding: "utf8",
        stdio: ["ignore", "pipe", "pipe"],
        timeout: 90_000,
      },
    );
    const line = stdout.split("\n").find((l) => l.startsWith("PULUMI-ENTRY "));
    assert.ok(line, `no report from the runner:\n${stdout}`);
    const report = JSON.parse(line.slice("PULUMI-ENTRY ".length)) as {
      types: string[];
      outputs: Record<string, unknown>;
    };
    for (const type of [
      "pulumi:pulumi:Stack",
      "gcp:cloudrunv2/service:Service",
      "docker-build:index:Image",
      "gcp:logging/projectSink:ProjectSink",
    ]) {
      assert.ok(report.types.includes(type), `${type} registered; got ${report.types.join(", ")}`);
    }
    assert.equal(
      report.outputs.exotelStreamUrl,
      "wss://exotel-bridge-dev-abc-el.a.run.app/media?sample-rate=8000",
    );
    assert.equal(report.outputs.serviceUrl, "https://exotel-bridge-dev-abc-el.a.run.app");
  });
});
