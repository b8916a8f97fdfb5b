// Preloaded (`node -r`) into the SDK's own program runner, `@pulumi/pulumi/cmd/run`, started the
// way the Pulumi CLI's Node.js language host starts it (see infra/test/pulumi-entry.test.ts).
// It points the SDK at Pulumi's mock monitor ("--monitor mock" selects it) instead of a gRPC
// engine, records every resource registration and the stack outputs, and prints them as one
// JSON line on exit. Plain CommonJS on purpose: with a tsx loader active the runner would not
// take the ts-node path the real CLI takes.
"use strict";
const path = require("node:path");

const programDir = process.cwd();
const fromProgram = (id) => require(require.resolve(id, { paths: [programDir] }));
const pulumi = fromProgram("@pulumi/pulumi");
const settings = fromProgram("@pulumi/pulumi/runtime/settings");

const types = [];
let outputs = {};
pulumi.runtime.setMocks(
  {
    newResource(args) {
      types.push(args.type);
      const extra = {};
      if (args.type === "gcp:cloudrunv2/service:Service")
        extra.uri = `https://${args.inputs.name}-abc-el.a.run.app`;
      if (args.type === "gcp:serviceaccount/account:Account") {
        extra.email = `${args.inputs.accountId}@p.iam.gserviceaccount.com`;
      }
      if (args.type === "docker-build:index:Image") extra.digest = `sha256:${"0".repeat(64)}`;
      if (args.type === "gcp:secretmanager/secretVersion:SecretVersion") extra.version = "1";
      return { id: `${args.name}-id`, state: { ...args.inputs, ...extra } };
    },
    call(args) {
      return args.token.endsWith("getClientConfig") ? { accessToken: "token" } : {};
    },
  },
  process.env.PULUMI_NODEJS_PROJECT,
  process.env.PULUMI_NODEJS_STACK,
  false,
);

// The mock monitor drops stack outputs; keep them.
const monitor = settings.getMonitor();
const registerResourceOutputs = monitor.registerResourceOutputs.bind(monitor);
monitor.registerResourceOutputs = (req, callback) => {
  if (req.getUrn().includes("pulumi:pulumi:Stack")) outputs = req.getOutputs().toJavaScript();
  return registerResourceOutputs(req, callback);
};

// Nor does it implement the end-of-program handshake the runner performs.
monitor.signalAndWaitForShutdown = (_req, callback) => callback(null, undefined);

process.on("exit", (code) => {
  const report = { code, cwd: path.relative(path.dirname(programDir), process.cwd()), types, outputs };
  process.stdout.write(`\nPULUMI-ENTRY ${JSON.stringify(report)}\n`);
});
