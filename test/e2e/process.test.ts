/**
 * The bridge as a process, the way `npm start` and Cloud Run run it: config errors stop it with
 * one line, the health routes answer, SIGTERM drains (readyz 503, new calls refused, live calls
 * finish or are closed at the drain timeout) and the process exits 0.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { ExotelConnectError, ExotelSocket } from "../../scripts/lib/exotel-caller.js";
import { startLocalAgent } from "../../scripts/lib/local-agent.js";

const ENTRY = ["--import", "tsx", "app/src/main.ts"];

interface Running {
  readonly child: ChildProcess;
  readonly port: number;
  readonly lines: Array<Record<string, unknown>>;
  readonly stderr: string[];
}

/** Starts the bridge as a child process and waits for its `listening` line. */
async function spawnBridge(env: Record<string, string>): Promise<Running> {
  const child = spawn(process.execPath, ENTRY, {
    env: { PATH: process.env.PATH ?? "", PORT: "0", BRIDGE_HOST: "127.0.0.1", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const lines: Array<Record<string, unknown>> = [];
  const stderr: string[] = [];
  let buf = "";
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`bridge did not start: ${stderr.join("")}`)), 15_000);
    child.stdout?.on("data", (d: Buffer) => {
      buf += d.toString();
      let nl = buf.indexOf("\n");
      while (nl >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        nl = buf.indexOf("\n");
        if (!line.trim()) continue;
        const json = JSON.parse(line) as Record<string, unknown>;
        lines.push(json);
        if (json.event === "listening") {
          clearTimeout(timer);
          resolve(json.port as number);
        }
      }
    });
    child.stderr?.on("data", (d: Buffer) => stderr.push(d.toString()));
    child.on("exit", () => reject(new Error(`bridge exited: ${stderr.join("")}`)));
  });
  return { child, port, lines, stderr };
}

describe("the bridge process", () => {
  it("stops with one clear line naming every bad variable (exit 78)", async () => {
    const child = spawn(process.execPath, ENTRY, {
      env: { PATH: process.env.PATH ?? "", ELEVENLABS_REGION: "mars", CHUNK_SIZE: "100" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let err = "";
    child.stderr.on("data", (d: Buffer) => {
      err += d.toString();
    });
    const [code] = (await once(child, "exit")) as [number];
    assert.equal(code, 78);
    const lines = err.trim().split("\n");
    assert.equal(lines.length, 1, err);
    assert.match(lines[0] as string, /ELEVENLABS_AGENT_ID is required/);
    assert.match(lines[0] as string, /ELEVENLABS_REGION must be one of/);
    assert.match(lines[0] as string, /CHUNK_SIZE/);
  });

  it("serves health routes, then drains on SIGTERM: readyz 503, new calls refused, the live call finishes", async () => {
    const agent = await startLocalAgent({
      apiKey: "k-drain",
      outputFormat: "pcm_8000",
      inputFormat: "pcm_8000",
    });
    const run = await spawnBridge({
      ELEVENLABS_AGENT_ID: agent.agentIds[0] as string,
      ELEVENLABS_API_KEY: "k-drain",
      ELEVENLABS_BASE_URL: agent.url,
      DRAIN_TIMEOUT_MS: "20000",
      ADMIN_TOKEN: "process-admin-token-0123456789",
    });
    const base = `http://127.0.0.1:${run.port}`;
    try {
      assert.equal((await fetch(`${base}/healthz`)).status, 200);
      assert.equal((await fetch(`${base}/readyz`)).status, 200);
      assert.equal((await fetch(`${base}/nope`)).status, 404);
      assert.equal((await fetch(`${base}/media`)).status, 426, "plain HTTP on /media");
      const metrics = await (
        await fetch(`${base}/metrics`, {
          headers: { authorization: "Bearer process-admin-token-0123456789" },
        })
      ).text();
      assert.match(metrics, /exotel_bridge_active_calls 0/);

      const sock = await ExotelSocket.connect({ url: `ws://127.0.0.1:${run.port}/media`, sampleRate: 8000 });
      sock.sendConnected();
      sock.sendStart();
      const conv = await agent.nextConversation();
      await conv.waitFor((c) => c.initiation !== undefined, 5000);
      const health = (await (await fetch(`${base}/health`)).json()) as {
        active_calls: number;
        status: string;
      };
      assert.equal(health.active_calls, 1);

      run.child.kill("SIGTERM");
      await sleep(300);
      assert.equal((await fetch(`${base}/readyz`)).status, 503);
      assert.equal(((await (await fetch(`${base}/health`)).json()) as { status: string }).status, "draining");
      await assert.rejects(
        ExotelSocket.connect({ url: `ws://127.0.0.1:${run.port}/media`, sampleRate: 8000 }),
        (e: unknown) => e instanceof ExotelConnectError && e.status === 503,
      );
      // The live call keeps working while draining.
      const before = conv.userAudio().length;
      sock.sendMedia(Buffer.alloc(1600, 1));
      await conv.waitFor((c) => c.userAudio().length > before, 2000, "audio while draining");
      sock.sendStop();
      sock.close();
      const [code] = (await once(run.child, "exit")) as [number];
      assert.equal(code, 0);
      const summary = run.lines.find((l) => l.event === "call_summary");
      assert.equal(summary?.end_reason, "caller_hangup");
    } finally {
      run.child.kill("SIGKILL");
      await agent.close();
    }
  });

  it("closes calls still live at the drain timeout, on both sides, then exits 0", async () => {
    const agent = await startLocalAgent({ outputFormat: "pcm_8000", inputFormat: "pcm_8000" });
    const run = await spawnBridge({
      ELEVENLABS_AGENT_ID: agent.agentIds[0] as string,
      ELEVENLABS_BASE_URL: agent.url,
      DRAIN_TIMEOUT_MS: "500",
    });
    try {
      const sock = await ExotelSocket.connect({ url: `ws://127.0.0.1:${run.port}/media`, sampleRate: 8000 });
      sock.sendConnected();
      sock.sendStart();
      const conv = await agent.nextConversation();
      await conv.waitFor((c) => c.initiation !== undefined, 5000);
      run.child.kill("SIGTERM");
      const [closed, agentClosed, [code]] = await Promise.all([
        sock.closed,
        conv.closed,
        once(run.child, "exit"),
      ]);
      assert.equal(closed.by, "bridge");
      assert.equal(agentClosed.by, "client");
      assert.equal(code, 0);
      assert.equal(run.lines.find((l) => l.event === "call_summary")?.end_reason, "server_shutdown");
    } finally {
      run.child.kill("SIGKILL");
      await agent.close();
    }
  });
});
