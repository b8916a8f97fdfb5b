// No Docker engine runs where the tests run, so this replays app/Dockerfile by hand: every stage
// gets a temporary directory standing for its WORKDIR, every COPY copies from app/ (the build
// context, as .dockerignore filters it) or from an earlier stage, every RUN runs there, and the
// final stage's CMD is started with the environment Cloud Run would give it. Then /healthz must
// answer, and SIGTERM must end the process cleanly within Cloud Run's 10 s grace.
import assert from "node:assert/strict";
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { parseDockerfile, type Stage } from "./support/dockerfile";

const APP = path.resolve(__dirname, "..", "..", "app");
const DOCKERFILE = path.join(APP, "Dockerfile");
const MAIN_TS = path.join(APP, "src", "main.ts");
const CLOUD_RUN_GRACE_MS = 10_000;

const { stages } = parseDockerfile(fs.readFileSync(DOCKERFILE, "utf8"));
const final = stages[stages.length - 1] as Stage;
const contextCopies = stages.flatMap((s) =>
  s.steps.flatMap((step) => (step.kind === "copy" && step.from === undefined ? step.sources : [])),
);

describe("app/Dockerfile, read", () => {
  it("builds in stages and ends in a runtime stage without build steps", () => {
    assert.ok(stages.length >= 2, "multi-stage");
    assert.deepEqual(
      final.steps.filter((s) => s.kind === "run"),
      [],
      "the runtime stage only copies finished artifacts",
    );
  });

  it("runs as a non-root user, with node itself as PID 1 (exec-form CMD)", () => {
    const users = final.steps.flatMap((s) => (s.kind === "user" ? [s.user] : []));
    const user = users[users.length - 1];
    assert.ok(user !== undefined && !/^(root|0)(:|$)/.test(user), `USER ${user}`);
    const cmd = final.steps.find((s) => s.kind === "cmd");
    assert.ok(cmd && cmd.kind === "cmd");
    assert.equal(cmd.argv[0], "node", "no npm or shell between the container runtime and node");
  });

  it("installs production dependencies only into the runtime image", () => {
    const modules = final.steps.find(
      (s) => s.kind === "copy" && s.sources.some((p) => p.endsWith("node_modules")),
    );
    assert.ok(modules && modules.kind === "copy" && modules.from, "node_modules comes from another stage");
    const source = stages.find((s) => s.name === modules.from);
    const installs = source?.steps.filter((s) => s.kind === "run" && /\bnpm ci\b/.test(s.command)) ?? [];
    assert.equal(installs.length, 1);
    assert.match((installs[0] as { command: string }).command, /--omit=dev/);
  });

  it("copies only from inside app/ and .dockerignore lets exactly those paths through", () => {
    for (const src of contextCopies) {
      assert.ok(!path.isAbsolute(src) && !src.split("/").includes(".."), `COPY ${src} stays inside app/`);
    }
    const ignore = fs
      .readFileSync(path.join(APP, ".dockerignore"), "utf8")
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l !== "" && !l.startsWith("#"));
    assert.equal(ignore[0], "*", "allow-list: everything else stays out of the context");
    const allowed = new Set(
      ignore.filter((l) => l.startsWith("!")).map((l) => l.slice(1).replace(/\/$/, "")),
    );
    assert.deepEqual(
      [...allowed].sort(),
      [...new Set(contextCopies.map((p) => p.replace(/\/$/, "")))].sort(),
    );
  });
});

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function copyInto(source: string, dest: string): void {
  if (fs.statSync(source).isDirectory()) {
    fs.cpSync(source, dest, { recursive: true });
  } else {
    const target = dest.endsWith(path.sep) || isDir(dest) ? path.join(dest, path.basename(source)) : dest;
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.copyFileSync(source, target);
  }
}

function isDir(p: string): boolean {
  return fs.existsSync(p) && fs.statSync(p).isDirectory();
}

/** Replays one stage in `dir` (its WORKDIR); returns the stage's ENV. */
function replay(stage: Stage, dirs: Map<string, string>, root: string): Record<string, string> {
  const dir = path.join(root, stage.name);
  fs.mkdirSync(dir, { recursive: true });
  dirs.set(stage.name, dir);
  const env: Record<string, string> = {};
  let workdir = "/";
  // Inside the container the stage's WORKDIR is `dir`; absolute paths of earlier stages map the same way.
  const local = (p: string, base: string, wd: string) =>
    path.join(base, path.posix.relative(wd, path.posix.resolve(wd, p)));
  for (const step of stage.steps) {
    if (step.kind === "workdir") workdir = step.dir;
    else if (step.kind === "env") Object.assign(env, step.vars);
    else if (step.kind === "copy") {
      const dest = local(step.dest, dir, workdir) + (step.dest.endsWith("/") ? path.sep : "");
      for (const src of step.sources) {
        const from =
          step.from === undefined ? path.join(APP, src) : local(src, dirs.get(step.from) as string, "/app");
        copyInto(from, dest);
      }
    } else if (step.kind === "run") {
      // A clean environment like a build container's: no npm_* variables of the npm test run.
      execFileSync("/bin/sh", ["-c", step.command], {
        cwd: dir,
        env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? os.homedir(), ...env },
        stdio: ["ignore", "pipe", "pipe"],
        timeout: 180_000,
      });
    }
  }
  return env;
}

describe("app/ built and started the way the Dockerfile does it", {
  skip: fs.existsSync(MAIN_TS) ? false : "app/src/main.ts does not exist yet (the bridge is being written)",
}, () => {
  let root: string;
  let runtimeDir: string;
  let runtimeEnv: Record<string, string>;
  let child: ChildProcess | undefined;
  let port: number;
  let output = "";

  before(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), "exotel-bridge-image-"));
    const dirs = new Map<string, string>();
    let env: Record<string, string> = {};
    for (const stage of stages) env = replay(stage, dirs, root);
    runtimeDir = dirs.get(final.name) as string;
    runtimeEnv = env;
  });

  after(() => {
    if (child && child.exitCode === null) child.kill("SIGKILL");
    if (root) fs.rmSync(root, { recursive: true, force: true });
  });

  it("leaves compiled code and production dependencies only", () => {
    assert.ok(fs.existsSync(path.join(runtimeDir, "dist", "main.js")));
    assert.ok(fs.existsSync(path.join(runtimeDir, "node_modules", "ws")), "runtime dependency present");
    assert.ok(!fs.existsSync(path.join(runtimeDir, "node_modules", "typescript")), "no dev dependencies");
    assert.ok(!fs.existsSync(path.join(runtimeDir, "src")), "no sources in the runtime stage");
  });

  it("starts and answers /healthz and /readyz", async () => {
    port = await freePort();
    const cmd = final.steps.find((s) => s.kind === "cmd");
    assert.ok(cmd && cmd.kind === "cmd");
    const [program, ...args] = cmd.argv;
    assert.equal(program, "node");
    child = spawn(process.execPath, args, {
      cwd: runtimeDir,
      env: {
        PATH: process.env.PATH ?? "",
        ...runtimeEnv,
        // What Cloud Run and the Pulumi program set (secrets as plain values here).
        PORT: String(port),
        ELEVENLABS_AGENT_ID: "agent_test",
        ELEVENLABS_API_KEY: "test-key",
        ELEVENLABS_REGION: "india",
        // Nothing real is ever reached: port 9 (discard) on loopback.
        ELEVENLABS_BASE_URL: "http://127.0.0.1:9",
        MAX_CONCURRENT_CALLS: "80",
        DRAIN_TIMEOUT_MS: "8000",
        LOG_LEVEL: "info",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    child.stdout?.on("data", (d: Buffer) => {
      output += d.toString();
    });
    child.stderr?.on("data", (d: Buffer) => {
      output += d.toString();
    });
    const deadline = Date.now() + 15_000;
    let status = 0;
    while (Date.now() < deadline && child.exitCode === null) {
      try {
        status = (await fetch(`http://127.0.0.1:${port}/healthz`)).status;
        if (status === 200) break;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(status, 200, `/healthz did not answer 200; process output:\n${output}`);
    assert.equal((await fetch(`http://127.0.0.1:${port}/readyz`)).status, 200);
    // Logs are JSON lines on stdout, as Cloud Logging reads them.
    const first = output.split("\n").find((l) => l.startsWith("{"));
    assert.ok(first, `no JSON log line in:\n${output}`);
    const record = JSON.parse(first) as Record<string, unknown>;
    assert.equal(typeof record.severity, "string");
    assert.equal(typeof record.message, "string");
  });

  it("exits 0 on SIGTERM within Cloud Run's 10 s grace", async () => {
    assert.ok(child && child.exitCode === null, "the bridge is running");
    const started = Date.now();
    const exited = new Promise<number | null>((resolve) => child?.once("exit", (code) => resolve(code)));
    child.kill("SIGTERM");
    const code = await Promise.race([
      exited,
      new Promise<"timeout">((r) => setTimeout(() => r("timeout"), CLOUD_RUN_GRACE_MS)),
    ]);
    assert.equal(code, 0, `exit after SIGTERM (${Date.now() - started} ms); output:\n${output}`);
  });
});
