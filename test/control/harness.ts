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

// ---------------------------------------------------------------- Exotel's REST API

export interface ExotelApiOptions {
  readonly accountSid: string;
  readonly apiKey: string;
  readonly apiToken: string;
  /**
   * How the reply spells its names: `Call.Sid` (the API reference's JSON) or `call.sid` (as some
   * of Exotel's pages and client libraries show it). The bridge must read both.
   */
  readonly casing?: "upper" | "lower";
}

/**
 * Exotel's Calls/connect (v1, `.json`) as documented: HTTP Basic api_key:api_token, a form body,
 * `{"Call":{"Sid","Status",...}}` or `{"RestException":{...}}`; and, when a call ends, a POST to the
 * request's StatusCallback with CallSid, Status, RecordingUrl, DateUpdated (plus the `terminal`
 * event's fields when subscribed), as JSON or a form per StatusCallbackContentType.
 */
export class ExotelApi extends StandIn {
  private n = 0;
  /** Form fields of each accepted call, by the SID handed out. */
  readonly calls = new Map<string, URLSearchParams>();

  constructor(readonly options: ExotelApiOptions) {
    // `this` is ready by the time the first request arrives (after listen()).
    super((req) => this.answer(req));
  }

  private answer(req: RecordedRequest): { status: number; body?: unknown } {
    const { accountSid, apiKey, apiToken } = this.options;
    const expected = `Basic ${Buffer.from(`${apiKey}:${apiToken}`).toString("base64")}`;
    if (req.headers.authorization !== expected)
      return { status: 401, body: { RestException: { Status: 401, Message: "Authentication failed" } } };
    if (req.method !== "POST" || req.url.pathname !== `/v1/Accounts/${accountSid}/Calls/connect.json`)
      return { status: 404, body: { RestException: { Status: 404, Message: "Not found" } } };
    const form = new URLSearchParams(req.body.toString("utf8"));
    if (!form.get("From") || !form.get("CallerId"))
      return { status: 400, body: { RestException: { Status: 400, Message: "From and CallerId required" } } };
    this.n++;
    const sid = `CAapi${String(this.n).padStart(4, "0")}`;
    this.calls.set(sid, form);
    const call = {
      Sid: sid,
      AccountSid: accountSid,
      From: form.get("From"),
      To: form.get("CallerId"),
      Status: "in-progress",
      Direction: "outbound-api",
    };
    if (this.options.casing === "lower")
      return {
        status: 200,
        body: { call: Object.fromEntries(Object.entries(call).map(([k, v]) => [k.toLowerCase(), v])) },
      };
    return { status: 200, body: { Call: call } };
  }

  /** Ends call `sid` as Exotel would: a POST of its final status to the StatusCallback it was given. */
  async finish(
    sid: string,
    status: "completed" | "busy" | "no-answer" | "failed",
    extra: { durationS?: number; recordingUrl?: string } = {},
  ): Promise<number> {
    const form = this.calls.get(sid);
    const url = form?.get("StatusCallback");
    if (!form || !url) throw new Error(`call ${sid} has no StatusCallback`);
    const now = new Date().toISOString().replace("T", " ").slice(0, 19);
    const fields: Record<string, string | number | null> = {
      CallSid: sid,
      DateUpdated: now,
      Status: status,
      RecordingUrl: extra.recordingUrl ?? null,
    };
    if (form.get("StatusCallbackEvents[0]") === "terminal")
      Object.assign(fields, {
        EventType: "terminal",
        DateCreated: now,
        To: form.get("CallerId"),
        From: form.get("From"),
        StartTime: now,
        EndTime: now,
        ConversationDuration: extra.durationS ?? 0,
        Direction: "outbound-api",
        CustomField: form.get("CustomField"),
      });
    const json = form.get("StatusCallbackContentType") === "application/json";
    const target = new URL(url);
    const headers: Record<string, string> = {
      "content-type": json ? "application/json" : "application/x-www-form-urlencoded",
    };
    if (target.username !== "") {
      headers.authorization = `Basic ${Buffer.from(
        `${decodeURIComponent(target.username)}:${decodeURIComponent(target.password)}`,
      ).toString("base64")}`;
      target.username = "";
      target.password = "";
    }
    const body = json
      ? JSON.stringify(fields)
      : new URLSearchParams(
          Object.entries(fields).map(([k, v]): [string, string] => [k, v === null ? "" : String(v)]),
        ).toString();
    const res = await fetch(target, { method: "POST", headers, body });
    await res.arrayBuffer();
    return res.status;
  }
}
