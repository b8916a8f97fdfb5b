/**
 * The local test agent's HTTP server: the signed-URL endpoint and the conversation upgrade on the
 * real service's paths (so the bridge only needs ELEVENLABS_BASE_URL), with the API key, signature
 * and unknown-agent checks, plus a server-sent-events feed of what it says and hears.
 */
import { randomBytes, timingSafeEqual } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import { WebSocketServer } from "ws";
import { AgentConversation } from "./conversation.js";
import { encodeFor } from "./formats.js";
import { narrate } from "./narrate.js";
import { shippedPrompts } from "./prompts.js";
import type { ConversationEvent, FormatInfo, LocalAgentOptions, ScriptPrompts, Utterance } from "./types.js";

const DEFAULT_AGENT_ID = "local-test-agent";
const LABEL = "[local test agent]";
const SIGNED_URL_PATH = "/v1/convai/conversation/get-signed-url";
const CONVERSATION_PATH = "/v1/convai/conversation";
/** Not part of the ElevenLabs API: a server-sent-events feed of what the local test agent says and hears. */
export const EVENTS_PATH = "/local-test-agent/events";

/** Encoded audio per utterance and format, shared by every agent in the process (prompts are immutable). */
const encodedCache = new WeakMap<Utterance, Map<string, Buffer>>();

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** The running local test agent server. */
export class LocalAgent {
  private origin = "";
  private listenPort = 0;
  readonly agentIds: readonly string[];
  private readonly conversationLog: AgentConversation[] = [];
  private readonly signedUrlLog: Array<{ agentId: string; status: number }> = [];
  private readonly refusedLog: Array<{ status: number; reason: string }> = [];
  readonly server: http.Server;
  private readonly wss: WebSocketServer;
  private readonly signatures = new Map<string, { agentId: string; expiresAt: number }>();
  private readonly feeds = new Set<http.ServerResponse>();
  private readonly conversationListeners = new Set<(c: AgentConversation) => void>();
  private promptCache: ScriptPrompts | undefined;

  constructor(readonly options: LocalAgentOptions = {}) {
    this.agentIds = options.agents ?? [DEFAULT_AGENT_ID];
    this.server = http.createServer(this.onRequest);
    this.wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
    this.server.on("upgrade", this.onUpgrade);
  }

  async listen(): Promise<void> {
    const host = this.options.host ?? "127.0.0.1";
    await new Promise<void>((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(this.options.port ?? 0, host, () => {
        this.server.off("error", reject);
        resolve();
      });
    });
    const addr = this.server.address() as AddressInfo;
    this.listenPort = addr.port;
    const shownHost =
      host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host.includes(":") ? `[${host}]` : host;
    this.origin = `http://${shownHost}:${addr.port}`;
    this.log(
      `listening on ${this.url} (NOT ElevenLabs) agents=${this.agentIds.join(",")} mode=${this.options.mode ?? "manual"} ` +
        `output=${this.options.outputFormat ?? "pcm_16000"} input=${this.options.inputFormat ?? "pcm_16000"} ` +
        `auth=${this.options.apiKey ? "api key + signed URL" : "public agent"}` +
        (this.options.failure ? ` failure=${this.options.failure.kind}` : ""),
    );
  }

  /** HTTP origin, e.g. http://127.0.0.1:43121 (use as ELEVENLABS_BASE_URL); set by listen(). */
  get url(): string {
    return this.origin;
  }

  get port(): number {
    return this.listenPort;
  }

  /** Every conversation opened (since the last forgetConversations()). */
  get conversations(): readonly AgentConversation[] {
    return this.conversationLog;
  }

  /** Every signed-URL request: agent id asked for and the status answered. */
  get signedUrlRequests(): ReadonlyArray<{ readonly agentId: string; readonly status: number }> {
    return this.signedUrlLog;
  }

  /** Every refused WebSocket upgrade. */
  get refusedUpgrades(): ReadonlyArray<{ readonly status: number; readonly reason: string }> {
    return this.refusedLog;
  }

  /**
   * Drops the records of finished conversations, signed-URL requests and refusals, so a long run
   * (soak, leak checks) does not keep every conversation alive. Open conversations are kept, so
   * close() still reaches them; a finished one is forgotten even if nextConversation() never
   * handed it out.
   */
  forgetConversations(): void {
    const open = this.conversationLog.filter((c) => c.closeInfo === undefined);
    const handed = new Set(this.conversationLog.slice(0, this.handedOut));
    // Handed-out ones first, so the first unseen open conversation is next in line.
    const kept = [...open.filter((c) => handed.has(c)), ...open.filter((c) => !handed.has(c))];
    this.handedOut = kept.filter((c) => handed.has(c)).length;
    this.conversationLog.length = 0;
    this.conversationLog.push(...kept);
    this.signedUrlLog.length = 0;
    this.refusedLog.length = 0;
  }

  /** Called for every new conversation (after the socket opened); returns an unsubscribe function. */
  onConversation(cb: (c: AgentConversation) => void): () => void {
    this.conversationListeners.add(cb);
    return () => this.conversationListeners.delete(cb);
  }

  /** The next conversation to open (or the first one not yet handed out by this method). */
  nextConversation(timeoutMs = 5000): Promise<AgentConversation> {
    const unseen = this.conversationLog[this.handedOut];
    if (unseen) {
      this.handedOut++;
      return Promise.resolve(unseen);
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        off();
        reject(new Error(`${LABEL} no conversation opened within ${timeoutMs} ms`));
      }, timeoutMs);
      const off = this.onConversation((c) => {
        clearTimeout(timer);
        off();
        this.handedOut++;
        resolve(c);
      });
    });
  }
  private handedOut = 0;

  /** Closes every conversation (1001) and the server. */
  async close(): Promise<void> {
    for (const c of this.conversations) c.close(1001, "local test agent shutting down");
    for (const res of this.feeds) res.end();
    this.feeds.clear();
    await Promise.race([Promise.all(this.conversations.map((c) => c.closed)), sleep(1500)]);
    for (const client of this.wss.clients) client.terminate();
    this.wss.close();
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
    this.log("stopped");
  }

  log(line: string): void {
    this.options.log?.(`${LABEL} ${line}`);
  }

  private publish(conv: AgentConversation, e: ConversationEvent): void {
    if (this.feeds.size === 0) return;
    const n = narrate(e, (id) => conv.responseNumber(id));
    if (n === undefined) return;
    // Wall-clock time, so another process can place it on its own clock.
    const at = performance.timeOrigin + (n.atMs >= 0 ? conv.openedAt + n.atMs : performance.now());
    const data = JSON.stringify({ conversation_id: conv.id, at: Math.round(at), who: n.who, text: n.text });
    for (const res of this.feeds) res.write(`data: ${data}\n\n`);
  }

  /** The script prompts (loaded once). */
  prompts(): ScriptPrompts {
    this.promptCache ??= this.options.prompts ?? shippedPrompts();
    return this.promptCache;
  }

  /** An utterance's audio in `format`, converted once and cached. */
  encodedUtterance(u: Utterance, format: FormatInfo): Buffer {
    let perFormat = encodedCache.get(u);
    if (!perFormat) {
      perFormat = new Map();
      encodedCache.set(u, perFormat);
    }
    let bytes = perFormat.get(format.name);
    if (!bytes) {
      bytes = encodeFor(format, u.pcm, u.sampleRate);
      perFormat.set(format.name, bytes);
    }
    return bytes;
  }

  private isKnownAgent(id: string): boolean {
    return this.options.failure?.kind !== "unknown_agent" && this.agentIds.includes(id);
  }

  private readonly onRequest = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const url = new URL(req.url ?? "/", "http://local-test-agent.invalid");
    const path = url.pathname.replace(/\/+$/, "");
    if (req.method === "GET" && path === SIGNED_URL_PATH) {
      this.onSignedUrl(req, res, url);
      return;
    }
    if (req.method === "GET" && path === EVENTS_PATH) {
      // Server-sent events: one JSON object per narrated conversation event (npm run call --agent-events).
      res.writeHead(200, {
        "content-type": "text/event-stream",
        "cache-control": "no-store",
        connection: "keep-alive",
      });
      res.write(": local test agent events\n\n");
      this.feeds.add(res);
      req.on("close", () => this.feeds.delete(res));
      return;
    }
    if (req.method === "GET" && (path === "" || path === "/")) {
      res.writeHead(200, { "content-type": "text/plain" });
      res.end(
        "LOCAL TEST AGENT (not ElevenLabs): speaks the ElevenLabs Agents protocol for tests and demos.\n",
      );
      return;
    }
    res.writeHead(404, { "content-type": "application/json" });
    res.end(JSON.stringify({ detail: { status: "not_found", message: "local test agent: no such route" } }));
  };

  private onSignedUrl(req: http.IncomingMessage, res: http.ServerResponse, url: URL): void {
    const agentId = url.searchParams.get("agent_id") ?? "";
    const key = req.headers["xi-api-key"];
    const answer = (status: number, body: unknown): void => {
      this.signedUrlLog.push({ agentId, status });
      this.log(`signed URL for agent ${agentId || "(none)"}: ${status}`);
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    const keyOk =
      this.options.failure?.kind !== "bad_key" &&
      (this.options.apiKey === undefined || (typeof key === "string" && safeEqual(key, this.options.apiKey)));
    if (!keyOk) {
      answer(401, { detail: { status: "invalid_api_key", message: "Invalid API key (local test agent)" } });
      return;
    }
    if (!this.isKnownAgent(agentId)) {
      answer(404, {
        detail: { status: "agent_not_found", message: "Agent does not exist (local test agent)" },
      });
      return;
    }
    const malformed = this.options.failure?.kind === "malformed_signed_url";
    // Recognisable, so a test can prove the token never reaches a log line.
    const signature = `${malformed ? "FAKE-SIGNED-URL-TOKEN-" : ""}${randomBytes(24).toString("base64url")}`;
    this.signatures.set(signature, {
      agentId,
      expiresAt: Date.now() + (this.options.signatureTtlMs ?? 15 * 60_000),
    });
    const host = req.headers.host ?? `127.0.0.1:${this.port}`;
    const q = new URLSearchParams({ agent_id: agentId, conversation_signature: signature });
    answer(200, { signed_url: `ws://${malformed ? "local test agent" : host}${CONVERSATION_PATH}?${q}` });
  }

  private readonly onUpgrade = (req: http.IncomingMessage, socket: Duplex, head: Buffer): void => {
    const url = new URL(req.url ?? "/", "http://local-test-agent.invalid");
    const refuse = (status: number, reason: string): void => {
      this.refusedLog.push({ status, reason });
      this.log(`refused a conversation upgrade: ${status} ${reason}`);
      socket.end(
        `HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`,
      );
    };
    if (url.pathname.replace(/\/+$/, "") !== CONVERSATION_PATH) {
      refuse(404, "unknown path");
      return;
    }
    const agentId = url.searchParams.get("agent_id") ?? "";
    if (!this.isKnownAgent(agentId)) {
      refuse(404, `unknown agent ${agentId || "(none)"}`);
      return;
    }
    if (this.options.apiKey !== undefined || this.options.failure?.kind === "bad_key") {
      const sig = url.searchParams.get("conversation_signature");
      if (sig === null) {
        refuse(401, "private agent: conversation_signature required");
        return;
      }
      const entry = this.signatures.get(sig);
      // Single use: a signature is consumed by the first upgrade that presents it.
      this.signatures.delete(sig);
      if (entry === undefined || entry.agentId !== agentId || entry.expiresAt < Date.now()) {
        refuse(403, "invalid, used or expired conversation_signature");
        return;
      }
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      const query: Record<string, string> = {};
      for (const [k, v] of url.searchParams) if (!(k in query)) query[k] = v;
      const conv = new AgentConversation(ws, this, agentId, query);
      this.conversationLog.push(conv);
      this.log(`${conv.id}: conversation opened for agent ${agentId}`);
      conv.onEvent((e) => this.publish(conv, e));
      conv.start();
      for (const cb of this.conversationListeners) cb(conv);
    });
  };
}

/** Starts a local test agent and waits until it listens. */
export async function startLocalAgent(options: LocalAgentOptions = {}): Promise<LocalAgent> {
  const agent = new LocalAgent(options);
  await agent.listen();
  return agent;
}
