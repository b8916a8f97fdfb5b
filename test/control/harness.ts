/**
 * Test harness for call control: the real bridge in-process with `buildControl` wired exactly as
 * main.ts does, a local test agent, Exotel's stream side (scripts/lib/exotel-caller.ts), a
 * recording HTTP stand-in for Exotel's REST API and Cloud Storage, and a real `redis-server`.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import http from "node:http";
import { type AddressInfo, createServer } from "node:net";
import type { ClientToolRegistry } from "../../app/src/call/tools.js";
import { loadConfig } from "../../app/src/config.js";
import { buildControl, type Control } from "../../app/src/control/index.js";
import type { RoutingTable } from "../../app/src/control/routing/table.js";
import type { StateStore } from "../../app/src/control/state/store.js";
import { createLogger } from "../../app/src/log.js";
import { Bridge } from "../../app/src/server.js";
import { ExotelSocket, type ExotelSocketOptions } from "../../scripts/lib/exotel-caller.js";
import {
  type AgentConversation,
  type LocalAgent,
  type LocalAgentOptions,
  startLocalAgent,
} from "../../scripts/lib/local-agent.js";

export type LogLine = Record<string, unknown> & { event?: string; message?: string };

/** pino lines as parsed JSON, plus the raw text (to check that no secret was ever written). */
export class Logs {
  readonly lines: LogLine[] = [];
  raw = "";
  readonly destination = {
    write: (s: string): void => {
      this.raw += s;
      for (const line of s.split("\n")) if (line.trim() !== "") this.lines.push(JSON.parse(line) as LogLine);
    },
  };

  events(name: string): LogLine[] {
    return this.lines.filter((l) => l.event === name);
  }

  async waitFor(
    event: string,
    timeoutMs = 5000,
    where: (l: LogLine) => boolean = () => true,
  ): Promise<LogLine> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.lines.find((l) => l.event === event && where(l));
      if (hit) return hit;
      if (Date.now() > deadline) throw new Error(`timed out waiting for log event ${event}`);
      await sleep(20);
    }
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export interface TestBridge {
  readonly bridge: Bridge;
  readonly control: Control;
  readonly logs: Logs;
  /** `ws://127.0.0.1:PORT/media` */
  readonly wsUrl: string;
  /** `http://127.0.0.1:PORT` */
  readonly httpUrl: string;
  close(): Promise<void>;
}

export async function startBridge(
  env: Record<string, string>,
  options: {
    store?: StateStore;
    tools?: ClientToolRegistry;
    routing?: RoutingTable;
    level?: string;
    port?: number;
  } = {},
): Promise<TestBridge> {
  const logs = new Logs();
  const config = loadConfig({ LOG_LEVEL: options.level ?? "debug", ...env });
  const log = createLogger(config.log.level, logs.destination);
  const control = buildControl({
    config,
    log,
    ...(options.store && { store: options.store }),
    ...(options.tools && { tools: options.tools }),
    ...(options.routing && { routing: options.routing }),
  });
  const bridge = new Bridge({
    config,
    log,
    hooks: control.hooks,
    tools: control.tools,
    routes: control.routes,
  });
  const addr = await bridge.listen(options.port ?? 0, "127.0.0.1");
  return {
    bridge,
    control,
    logs,
    wsUrl: `ws://127.0.0.1:${addr.port}/media`,
    httpUrl: `http://127.0.0.1:${addr.port}`,
    close: async () => {
      await bridge.close();
      await control.close();
    },
  };
}

export async function startAgent(options: LocalAgentOptions = {}): Promise<LocalAgent> {
  return startLocalAgent({
    mode: "manual",
    outputFormat: "pcm_8000",
    inputFormat: "pcm_8000",
    pingIntervalMs: 0,
    ...options,
  });
}

/**
 * Resolves once the agent has sent conversation metadata (the call is active on the bridge).
 * Checks `sent`, not `metadataSent`: see .scratch/bridge-bugs.md (the flag is set after the event).
 */
export function metadataSent(conv: AgentConversation, timeoutMs = 3000): Promise<void> {
  return conv.waitFor(
    (c) => c.sent.some((m) => m.type === "conversation_initiation_metadata"),
    timeoutMs,
    "conversation metadata",
  );
}

/** Env for a bridge pointed at `agent` (public agent, its first id as the default). */
export function agentEnv(agent: LocalAgent): Record<string, string> {
  return { ELEVENLABS_BASE_URL: agent.url, ELEVENLABS_AGENT_ID: agent.agentIds[0] as string };
}

/** Exotel's side of a stream: connected + start, then 100 ms of silence every 100 ms until stopped. */
export async function dialStream(
  opts: ExotelSocketOptions,
): Promise<{ sock: ExotelSocket; stopMedia: () => void }> {
  const sock = await ExotelSocket.connect(opts);
  sock.sendConnected();
  sock.sendStart();
  const frame = Buffer.alloc((sock.sampleRate / 10) * 2);
  const timer = setInterval(() => {
    if (sock.isOpen) sock.sendMedia(frame);
  }, 100);
  void sock.closed.then(() => clearInterval(timer));
  return { sock, stopMedia: () => clearInterval(timer) };
}

/** A sine tone, PCM16 mono. */
export function tone(freq: number, ms: number, rate: number, amplitude = 8000): Buffer {
  const n = Math.round((ms * rate) / 1000);
  const out = Buffer.alloc(n * 2);
  for (let i = 0; i < n; i++)
    out.writeInt16LE(Math.round(amplitude * Math.sin((2 * Math.PI * freq * i) / rate)), i * 2);
  return out;
}

/** GET/POST helper answering status, text and parsed JSON (when it is JSON). */
export async function request(
  url: string,
  init: RequestInit = {},
): Promise<{ status: number; text: string; json: unknown; headers: Headers }> {
  const res = await fetch(url, { redirect: "manual", ...init });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, text, json, headers: res.headers };
}

// ---------------------------------------------------------------- HTTP stand-ins

export interface RecordedRequest {
  readonly method: string;
  readonly url: URL;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Buffer;
}

/** A local HTTP server that records every request and answers with `handler`. */
export class StandIn {
  readonly requests: RecordedRequest[] = [];
  url = "";
  readonly server: http.Server;

  constructor(
    private readonly handler: (
      req: RecordedRequest,
    ) =>
      | { status: number; body?: unknown; headers?: Record<string, string> }
      | Promise<{ status: number; body?: unknown; headers?: Record<string, string> }>,
  ) {
    this.server = http.createServer((req, res) => {
      const parts: Buffer[] = [];
      req.on("data", (c: Buffer) => parts.push(c));
      req.on("end", async () => {
        const rec: RecordedRequest = {
          method: req.method ?? "",
          url: new URL(req.url ?? "/", "http://stand-in"),
          headers: req.headers,
          body: Buffer.concat(parts),
        };
        this.requests.push(rec);
        const answer = await this.handler(rec);
        const body =
          answer.body === undefined
            ? ""
            : typeof answer.body === "string"
              ? answer.body
              : JSON.stringify(answer.body);
        res.writeHead(answer.status, { "Content-Type": "application/json", ...answer.headers });
        res.end(body);
      });
    });
  }

  async listen(): Promise<this> {
    this.server.listen(0, "127.0.0.1");
    await once(this.server, "listening");
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  get host(): string {
    return this.url.replace(/^http:\/\//, "");
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

// ---------------------------------------------------------------- Redis

export async function freePort(): Promise<number> {
  const srv = createServer();
  srv.listen(0, "127.0.0.1");
  await once(srv, "listening");
  const { port } = srv.address() as AddressInfo;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

/** Path of redis-server, or undefined when it is not installed. */
export function redisServerBinary(): string | undefined {
  for (const p of ["redis-server", "/usr/bin/redis-server", "/usr/local/bin/redis-server"]) {
    const r = spawnSync(p, ["--version"], { encoding: "utf8" });
    if (r.status === 0) return p;
  }
  return undefined;
}

export interface RedisServer {
  readonly url: string;
  readonly port: number;
  readonly process: ChildProcess;
  stop(): Promise<void>;
}

/** A throwaway redis-server on a free loopback port, no persistence, optional password. */
/** TLS for a test redis-server: its certificate and key files (PEM). */
export interface RedisTls {
  readonly certFile: string;
  readonly keyFile: string;
}

export async function startRedis(binary: string, password?: string, tls?: RedisTls): Promise<RedisServer> {
  const port = await freePort();
  // With TLS, only the TLS port listens (as Memorystore with in-transit encryption does).
  const args = tls
    ? ["--port", "0", "--tls-port", String(port), "--tls-cert-file", tls.certFile]
    : ["--port", String(port)];
  if (tls) args.push("--tls-key-file", tls.keyFile, "--tls-auth-clients", "no");
  args.push("--bind", "127.0.0.1", "--save", "", "--appendonly", "no");
  if (password !== undefined) args.push("--requirepass", password);
  const child = spawn(binary, args, { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout?.on("data", (c: Buffer) => {
    out += c.toString();
  });
  const deadline = Date.now() + 10_000;
  while (!/Ready to accept connections/i.test(out)) {
    if (child.exitCode !== null) throw new Error(`redis-server exited: ${out.slice(-500)}`);
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error("redis-server did not start in 10 s");
    }
    await sleep(20);
  }
  return {
    port,
    url:
      password !== undefined
        ? `${tls ? "rediss" : "redis"}://:${encodeURIComponent(password)}@127.0.0.1:${port}`
        : `${tls ? "rediss" : "redis"}://127.0.0.1:${port}`,
    process: child,
    stop: async () => {
      if (child.exitCode !== null) return;
      child.kill("SIGTERM");
      await once(child, "exit");
    },
  };
}
