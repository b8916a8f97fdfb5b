import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import path from "node:path";
import { describe, it } from "node:test";
import { DialHelp, parseDialArgs } from "../../scripts/dial.js";

const root = path.resolve(import.meta.dirname, "../..");

function run(args: string[], env: Record<string, string> = {}) {
  return new Promise<{ status: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      ["--import", "tsx", "scripts/dial.ts", ...args],
      { cwd: root, encoding: "utf8", env: { PATH: process.env.PATH ?? "", ...env }, timeout: 30_000 },
      (err, stdout, stderr) => resolve({ status: err ? Number(err.code ?? -1) : 0, stdout, stderr }),
    );
  });
}

describe("npm run dial", () => {
  it("--help exits 0 and shows the defaults this shell would use, never the token", async () => {
    const r = await run(["--help"], { BRIDGE_PORT: "10555", CALLS_API_TOKEN: "tok-secret-12345678" });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /--url <bridge url>\s+default http:\/\/localhost:10555/);
    assert.match(r.stdout, /from CALLS_API_TOKEN \(set\)/);
    assert.ok(!r.stdout.includes("tok-secret-12345678"));
    assert.equal(r.stderr, "");
  });

  it("an unknown option is bad usage (exit 2) with the usage line", async () => {
    const r = await run(["--nope"]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /Unknown option '--nope'\nusage: npm run dial/);
  });

  it("parses a call request, BRIDGE_URL winning over BRIDGE_PORT", () => {
    assert.throws(() => parseDialArgs(["-h"], {}), DialHelp);
    const a = parseDialArgs(["--to", "+919876543210", "--var", "name=Asha", "--language", "hi"], {
      CALLS_API_TOKEN: "t",
      BRIDGE_URL: "https://bridge.example.com/",
      BRIDGE_PORT: "1",
    });
    assert.equal(a.url, "https://bridge.example.com");
    assert.deepEqual(a.body, {
      to: "+919876543210",
      dynamic_variables: { name: "Asha" },
      overrides: { language: "hi" },
    });
  });
});
