/**
 * The agent side of one call, up to an open conversation: signed URL (fetched the moment a valid
 * `start` arrives, never for a socket that has not proved to be a call: each fetch spends a request
 * on our API key), the WebSocket, failure classification, and one retry for transient failures
 * while the caller has heard nothing. No URL this file handles is ever put in an error or a log
 * line: a signed URL carries a conversation token. After `established()` it is a plain socket whose
 * close is reported to the Call. The Call parses what arrives; this file knows no agent events.
 */
import WebSocket from "ws";
import { AgentConnectError, type AgentConnectErrorKind } from "../call-endings.js";
import type { AgentEndpoints } from "../elevenlabs/hosts.js";
import { publicConversationUrl } from "../elevenlabs/hosts.js";
import { fetchSignedUrl, signedUrlProblem } from "../elevenlabs/signed-url.js";

/** Connection attempts per call (the first plus one retry), all within the connect budget. */
const MAX_ATTEMPTS = 2;
/** A retry needs at least this much of the budget left to be worth it. */
const MIN_RETRY_BUDGET_MS = 1500;
const RETRY_BACKOFF_MS = 250;
/** Gentle close first; then the socket is destroyed. */
const FORCE_CLOSE_MS = 1000;
const RETRYABLE: ReadonlySet<AgentConnectErrorKind> = new Set([
  "upstream",
  "rate_limited",
  "network",
  "handshake",
  "bad_response",
]);

export interface AgentLinkOptions {
  readonly endpoints: AgentEndpoints;
  /** Undefined: a public agent, connected without a signed URL. */
  readonly apiKey: string | undefined;
  /** Signed URL + WebSocket + conversation metadata, in total. */
  readonly connectTimeoutMs: number;
  readonly maxPayload: number;
  readonly maxBufferedBytes: number;
  readonly now: () => number;
}

export interface AgentLinkHandlers {
  onOpen(): void;
  onMessage(data: WebSocket.RawData, isBinary: boolean): void;
  /** Setup failed for good (retry used up, not allowed, or the failure is permanent). */
  onFailed(err: AgentConnectError): void;
  /** A transient setup failure is being retried. */
  onRetry(err: AgentConnectError, attempt: number): void;
  /** The socket closed (after setup, or during setup with a code that is not a transient failure). */
  onClose(code: number, reason: string): void;
  /** A socket error after setup (the close follows). */
  onError(err: Error): void;
  /** Whether a retry is still acceptable (e.g. no agent error event has been seen). */
  mayRetry(): boolean;
}

export type SendResult = "sent" | "not_open" | "slow";

export class AgentLink {
  private ws: WebSocket | null = null;
  private signedUrl: Promise<string> | null = null;
  private signedUrlAgentId = "";
  private readonly abort = new AbortController();
  private attempts = 0;
  private deadline = 0;
  private retryTimer: NodeJS.Timeout | null = null;
  private isEstablished = false;
  private stopped = false;
  /** True while no socket is open or opening (the Call's teardown waits on this). */
  closed = true;

  constructor(
    private readonly options: AgentLinkOptions,
    private readonly handlers: AgentLinkHandlers,
  ) {}

  /**
   * The call has started: the connect budget runs from now, and the signed URL for the agent the
   * call most likely wants is fetched while routing (hooks.plan) decides; `start` fetches another
   * only if routing picked a different agent.
   */
  prefetch(agentId: string): void {
    if (this.deadline === 0) this.deadline = this.options.now() + this.options.connectTimeoutMs;
    const apiKey = this.options.apiKey;
    if (apiKey === undefined || this.stopped) return;
    this.signedUrlAgentId = agentId;
    this.signedUrl = fetchSignedUrl({
      endpoints: this.options.endpoints,
      agentId,
      apiKey,
      timeoutMs: Math.max(500, Math.round(this.deadline - this.options.now())),
      signal: this.abort.signal,
    });
    // Failure is handled where the URL is awaited; this only keeps it from counting as unhandled.
    this.signedUrl.catch(() => {});
  }

  /** Connects to `agentId`; the connect budget runs from `prefetch`, or from now without one. */
  start(agentId: string): void {
    if (this.deadline === 0) this.deadline = this.options.now() + this.options.connectTimeoutMs;
    this.connectGuarded(agentId);
  }

  /** A throw anywhere in a connection attempt ends the call's setup as a failure, never as an unhandled rejection. */
  private connectGuarded(agentId: string): void {
    this.connect(agentId).catch((err: unknown) => {
      this.fail(
        err instanceof AgentConnectError
          ? err
          : new AgentConnectError("handshake", `agent connection failed (${errorName(err)})`),
        agentId,
      );
    });
  }

  /** The conversation has started (metadata arrived): no more retries, closes are the Call's. */
  established(): void {
    this.isEstablished = true;
  }

  send(frame: string): SendResult {
    const ws = this.ws;
    if (ws === null || ws.readyState !== WebSocket.OPEN) return "not_open";
    if (ws.bufferedAmount > this.options.maxBufferedBytes) return "slow";
    ws.send(frame);
    return "sent";
  }

  get bufferedAmount(): number {
    return this.ws?.bufferedAmount ?? 0;
  }

  /** Stops everything: pending fetch, retry timer; closes the socket gently, then forcibly. */
  close(): void {
    this.stopped = true;
    this.abort.abort();
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    const ws = this.ws;
    if (ws === null || this.closed) return;
    if (ws.readyState === WebSocket.CONNECTING) {
      ws.terminate();
      return;
    }
    ws.close(1000);
    setTimeout(() => {
      if (!this.closed) ws.terminate();
    }, FORCE_CLOSE_MS).unref();
  }

  /** After the call is over: no more events from this socket, and a late error cannot crash us. */
  dispose(): void {
    this.ws?.removeAllListeners();
    this.ws?.on("error", noop);
  }

  private async url(agentId: string): Promise<string> {
    if (this.options.apiKey === undefined) return publicConversationUrl(this.options.endpoints, agentId);
    if (this.signedUrl === null || this.signedUrlAgentId !== agentId) this.prefetch(agentId);
    return this.signedUrl as Promise<string>;
  }

  private async connect(agentId: string): Promise<void> {
    this.attempts++;
    let url: string;
    try {
      url = await this.url(agentId);
    } catch (err) {
      this.fail(
        err instanceof AgentConnectError
          ? err
          : new AgentConnectError("network", `signed URL request failed (${errorName(err)})`),
        agentId,
      );
      return;
    }
    if (this.stopped) return;
    // Checked again here: a public URL is built from configuration, and `ws` throws synchronously,
    // quoting the URL, on what it cannot open.
    const problem = signedUrlProblem(url);
    if (problem !== undefined) {
      this.fail(new AgentConnectError("bad_signed_url", `agent URL unusable: ${problem}`), agentId);
      return;
    }
    let ws: WebSocket;
    try {
      ws = new WebSocket(url, {
        perMessageDeflate: false,
        handshakeTimeout: Math.max(500, this.deadline - this.options.now()),
        maxPayload: this.options.maxPayload,
      });
    } catch (err) {
      // The error's message may quote the URL: only its name is kept.
      this.fail(
        new AgentConnectError("bad_signed_url", `agent socket could not be opened (${errorName(err)})`),
        agentId,
      );
      return;
    }
    this.ws = ws;
    this.closed = false;
    ws.on("open", this.handlers.onOpen);
    ws.on("message", this.handlers.onMessage);
    ws.on("close", (code: number, reason: Buffer) => this.onClose(ws, code, reason, agentId));
    ws.on("error", (err: Error) => this.onError(ws, err, agentId));
    ws.on("unexpected-response", (_req: unknown, res: { statusCode?: number; resume(): void }) => {
      res.resume();
      const status = res.statusCode ?? 0;
      const kind =
        status === 401 || status === 403 ? "auth" : status === 404 ? "agent_not_found" : "handshake";
      ws.terminate();
      this.fail(
        new AgentConnectError(kind, `agent WebSocket upgrade refused with HTTP ${status}`, status),
        agentId,
      );
    });
  }

  private onClose(ws: WebSocket, code: number, reasonBuf: Buffer, agentId: string): void {
    if (ws !== this.ws) return;
    this.closed = true;
    const reason = reasonBuf.toString("utf8").slice(0, 200);
    if (
      !this.isEstablished &&
      !this.stopped &&
      (code === 1011 || code === 1006) &&
      this.handlers.mayRetry()
    ) {
      // The conversation never started and nothing was played: a setup failure, retryable once.
      const err = new AgentConnectError(
        "handshake",
        `agent closed during setup (${code}${reason ? ` ${reason}` : ""})`,
        code,
      );
      if (this.canRetry(err)) {
        this.retry(err, agentId);
        return;
      }
    }
    this.handlers.onClose(code, reason);
  }

  private onError(ws: WebSocket, err: Error, agentId: string): void {
    if (ws !== this.ws || this.stopped) return;
    if (this.isEstablished) {
      this.handlers.onError(err);
      return;
    }
    const code = (err as { code?: string }).code;
    const kind = err.message.includes("timed out") ? "timeout" : code ? "network" : "handshake";
    this.fail(new AgentConnectError(kind, `agent WebSocket: ${err.message}`), agentId);
  }

  private fail(err: AgentConnectError, agentId: string): void {
    if (this.stopped) return;
    if (this.canRetry(err)) {
      this.retry(err, agentId);
      return;
    }
    this.handlers.onFailed(err);
  }

  private canRetry(err: AgentConnectError): boolean {
    return (
      !this.isEstablished &&
      this.attempts < MAX_ATTEMPTS &&
      RETRYABLE.has(err.kind) &&
      this.deadline - this.options.now() >= MIN_RETRY_BUDGET_MS &&
      this.handlers.mayRetry()
    );
  }

  private retry(err: AgentConnectError, agentId: string): void {
    this.handlers.onRetry(err, this.attempts);
    const old = this.ws;
    if (old !== null) {
      old.removeAllListeners();
      old.on("error", noop);
      old.terminate();
    }
    this.ws = null;
    this.closed = true;
    // A signed URL may be single-use: fetch a fresh one.
    this.signedUrl = null;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (!this.stopped) this.connectGuarded(agentId);
    }, RETRY_BACKOFF_MS);
  }
}

function noop(): void {}

function errorName(err: unknown): string {
  return err instanceof Error ? err.name : typeof err;
}
