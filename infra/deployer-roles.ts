// Prints the IAM roles the deployer needs for one stack, read from Pulumi.<stack>.yaml at the
// repository root (no Pulumi CLI, no passphrase: only the plain feature keys are read).
//
//   npx tsx infra/deployer-roles.ts prod            # one role per line, for a gcloud loop
//   npx tsx infra/deployer-roles.ts prod --explain  # role and why
import * as fs from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";
import { deployerRoles, featuresFromStackConfig } from "./lib/deployer-roles";

function main(argv: string[]): number {
  const explain = argv.includes("--explain");
  const [stack, ...rest] = argv.filter((a) => a !== "--explain");
  if (stack === undefined || rest.length > 0 || !/^[A-Za-z0-9_.-]+$/.test(stack)) {
    process.stderr.write("usage: npx tsx infra/deployer-roles.ts <stack> [--explain]\n");
    return 2;
  }
  const file = path.resolve(__dirname, "..", `Pulumi.${stack}.yaml`);
  if (!fs.existsSync(file)) {
    process.stderr.write(`deployer-roles: ${path.basename(file)} not found\n`);
    return 1;
  }
  const doc = (parse(fs.readFileSync(file, "utf8")) ?? {}) as { config?: Record<string, unknown> };
  for (const need of deployerRoles(featuresFromStackConfig(doc.config ?? {}))) {
    process.stdout.write(explain ? `${need.role.padEnd(44)} ${need.why}\n` : `${need.role}\n`);
  }
  return 0;
}

process.exitCode = main(process.argv.slice(2));
