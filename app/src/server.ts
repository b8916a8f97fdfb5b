/**
 * HTTP surface and wiring (README, "HTTP surface"):
 *   WS  /media           Exotel Voicebot stream (one connection = one call)
 *   GET /healthz         liveness: 200 while the process is up (in-container probes)
 *   GET /readyz          readiness: 503 while draining (in-container probes)
 *   GET /health          public: status and a count of calls, nothing that names a call
 *   GET /health/details  ADMIN_TOKEN: the calls in progress, limits, version
 *   GET /metrics         ADMIN_TOKEN, or a resolved client address in METRICS_ALLOWED_CIDRS
 *   POST /webhooks/elevenlabs/post-call  ElevenLabs post-call analysis (only with a webhook secret)
 * WebSocket routes stay on `app` (express-ws patches Express 4's router only; we run Express 5).
 */
import http from "node:http";
import type { AddressInfo, BlockList } from "node:net";
import express from "express";
import expressWs from "express-ws";
import type WebSocket from "ws";
import { PostCallAnalysis } from "./analysis/index.js";
import { EXOTEL_UNIT_MS } from "./audio/framer.js";
import { type CredentialPolicy, requireCredential } from "./auth.js";
import { Call, type CallRequest } from "./call/call.js";
import type { CallHooks } from "./call/hooks.js";
import { Ticker } from "./call/ticker.js";
import { ClientToolRegistry } from "./call/tools.js";
import type { Config } from "./config.js";
import { ConsoleFeed, consoleObserver, mountConsole } from "./console/index.js";
import { agentEndpoints } from "./elevenlabs/hosts.js";
import { createLogger, type Logger, LogRateLimiter } from "./log.js";
import { createMetrics, type Metrics } from "./metrics.js";
import { buildAllowList, clientAddress, isAllowed } from "./net.js";
import { MEDIA_PATH, verifyUpgrade } from "./upgrade.js";

export const VERSION = "0.1.0";

export interface BridgeOptions {
  readonly config: Config;
  readonly log?: Logger;
  readonly metrics?: Metrics;
  readonly tools?: ClientToolRegistry;
  /** Per-call extension points: routing plan, audio tap, after-call hook. */
  readonly hooks?: CallHooks;
  /**
   * Extra HTTP routes (call control: /calls, /exotel/*), mounted before the 404 handler; `metrics`
   * lets them add their own counters to /metrics.
   */
  readonly routes?: (app: express.Express, metrics: Metrics) => void;
}

/**
 * On every answer, refusals included: nothing here is a document a browser should sniff, and nothing
 * may be kept by a cache (health, metrics and call-control answers can carry call data or credentials).
 */
const SAFE_HEADERS = { "X-Content-Type-Options": "nosniff", "Cache-Control": "no-store" } as const;

/** Between checks for requests past their deadline; the deadline itself is HTTP_REQUEST_TIMEOUT_MS. */
const TIMEOUT_CHECK_MS = 2_000;

const HTTP_STATUS_TEXT: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  503: "Service Unavailable",
};

export class Bridge {
  readonly config: Config;
  readonly log: Logger;
  readonly metrics: Metrics;
  readonly tools: ClientToolRegistry;
  readonly server: http.Server;
  readonly calls = new Set<Call>();
  private readonly ticker = new Ticker(EXOTEL_UNIT_MS);
  private readonly badFrameLog = new LogRateLimiter(20, 40);
  // Refusals are what a scanner or a flood produces: a few lines a second, the rest only counted.
  private readonly refusalLog = new LogRateLimiter(5, 20);
  private readonly pendingCalls = new WeakMap<object, CallRequest>();
  private draining = false;
  private readonly allowList: BlockList | undefined;
  private readonly startedAt = Date.now();
  readonly hooks: CallHooks;
  readonly consoleFeed = new ConsoleFeed();
  readonly analysis: PostCallAnalysis;

  constructor(options: BridgeOptions) {
    this.config = options.config;
    this.log =
      options.log ?? createLogger(options.config.log.level, undefined, { privacy: options.config.privacy });
    this.metrics = options.metrics ?? createMetrics();
    this.tools = options.tools ?? new ClientToolRegistry();
    // ElevenLabs' post-call webhook: its join needs every call's ids, hence the wrapped hooks.
    this.analysis = new PostCallAnalysis({
      config: this.config.analysis,
      log: this.log,
      registry: this.metrics.registry,
    });
    this.hooks = this.analysis.withHooks(options.hooks ?? {});
    const cidrs = this.config.exotel.allowedCidrs;
    this.allowList = cidrs && cidrs.length > 0 ? buildAllowList(cidrs) : undefined;
    const app = express();
    app.disable("x-powered-by");
    app.set("etag", false);
    this.server = http.createServer({ connectionsCheckingInterval: TIMEOUT_CHECK_MS }, app);
    // Node applies these to requests still being read; an upgraded socket leaves the HTTP parser,
    // so a call lasts as long as it needs (the call's own limits bound it). Tested in security-edge.
    this.server.requestTimeout = this.config.http.requestTimeoutMs;
    this.server.headersTimeout = Math.min(15_000, this.config.http.requestTimeoutMs);
    this.server.keepAliveTimeout = 65_000;
    // Beyond this, new TCP connections are closed at once: descriptors stay bounded whatever a
    // client does, and the timeouts above free the slots that slow clients hold.
    this.server.maxConnections = this.config.http.maxConnections;
    app.use((_req, res, next) => {
      res.set(SAFE_HEADERS);
      next();
    });

    const ws = expressWs(app, this.server, {
      wsOptions: {
        perMessageDeflate: false,
        maxPayload: this.config.limits.exotelMaxMessageBytes,
        verifyClient: this.verifyClient,
      },
    });
    ws.app.ws(MEDIA_PATH, this.onExotelSocket);
    // ws re-emits the HTTP server's errors (EADDRINUSE) on its own server, where no listener would
    // make them an uncaught exception; listen() already rejects with them.
    ws.getWss().on("error", () => {});

    app.get("/healthz", (_req, res) => {
      res.type("text/plain").send("ok");
    });
    app.get("/readyz", (_req, res) => {
      res
        .status(this.draining ? 503 : 200)
        .type("text/plain")
        .send(this.draining ? "draining" : "ready");
    });
    // Public: what a load balancer or an uptime check needs, and nothing that names a call.
    app.get("/health", (_req, res) => {
      res.json({ status: this.draining ? "draining" : "healthy", active_calls: this.calls.size });
    });
    const admin: CredentialPolicy = { bearer: this.config.access.adminToken, realm: "exotel-bridge" };
    app.get("/health/details", requireCredential(admin), (_req, res) => {
      res.json({
        status: this.draining ? "draining" : "healthy",
        active_calls: this.calls.size,
        max_concurrent_calls: this.config.limits.maxConcurrentCalls,
        uptime_s: Math.round((Date.now() - this.startedAt) / 1000),
        version: VERSION,
        calls: [...this.calls].map((c) => c.describe()),
      });
    });
    const scrapers = this.config.access.metricsAllowedCidrs;
    const scraperList = scrapers && scrapers.length > 0 ? buildAllowList(scrapers) : undefined;
    const hops = this.config.exotel.trustedProxyHops;
    const metricsPolicy: CredentialPolicy = {
      ...admin,
      // The address after trusted proxies: behind Cloud Run's front end it is the real client,
      // never loopback, so a loopback range admits only a collector inside the instance.
      exempt: (req) =>
        scraperList !== undefined &&
        isAllowed(scraperList, clientAddress(req.socket.remoteAddress, req.headers["x-forwarded-for"], hops)),
    };
    app.get("/metrics", requireCredential(metricsPolicy), async (_req, res) => {
      res.type(this.metrics.registry.contentType).send(await this.metrics.registry.metrics());
    });
    mountConsole(app, this.config.console, this.consoleFeed, this.log);
    this.analysis.mount(app);
    options.routes?.(app, this.metrics);
    app.get(MEDIA_PATH, (_req, res) => {
      // Plain HTTP on the stream path: it only speaks WebSocket.
      res.status(426).set("Upgrade", "websocket").type("text/plain").send("Upgrade Required");
    });
    app.use((_req, res) => {
      res.status(404).type("text/plain").send("Not Found");
    });
  }

  private readonly verifyClient = (
    info: { req: http.IncomingMessage },
    done: (ok: boolean, code?: number, message?: string, headers?: http.OutgoingHttpHeaders) => void,
  ): void => {
    const verdict = verifyUpgrade(info.req, this.config, {
      draining: this.draining,
      activeCalls: this.calls.size,
      allowList: this.allowList,
    });
    if (verdict.ok) {
      this.pendingCalls.set(info.req, verdict.call);
      done(true);
      return;
    }
    this.metrics.upgradesRefused.labels(String(verdict.status)).inc();
    const suppressedBefore = this.refusalLog.suppressed;
    if (this.refusalLog.allow()) {
      this.refusalLog.suppressed = 0;
      this.log.warn(
        {
          event: "upgrade_refused",
          status: verdict.status,
          reason: verdict.reason,
          remote: info.req.socket.remoteAddress,
          ...(suppressedBefore > 0 && { suppressed_since_last: suppressedBefore }),
        },
        "refused an Exotel upgrade",
      );
    }
    const headers: http.OutgoingHttpHeaders =
      verdict.status === 401
        ? { ...SAFE_HEADERS, "WWW-Authenticate": 'Basic realm="exotel-bridge"' }
        : { ...SAFE_HEADERS };
    done(false, verdict.status, HTTP_STATUS_TEXT[verdict.status], headers);
  };

  private readonly onExotelSocket = (socket: WebSocket, req: http.IncomingMessage): void => {
    const request = this.pendingCalls.get(req);
    if (request === undefined) {
      socket.close(1008);
      return;
    }
    this.pendingCalls.delete(req);
    const call = new Call(socket, request, {
      config: this.config,
      endpoints: agentEndpoints(this.config.agent.region, this.config.agent.baseUrl),
      log: this.log,
      metrics: this.metrics,
      ticker: this.ticker,
      tools: this.tools,
      badFrameLog: this.badFrameLog,
      now: () => performance.now(),
      onClosed: (c) => this.calls.delete(c),
      hooks: this.hooks,
      // A console that is off (no credential) costs a call nothing.
      ...(this.config.console.basicAuth !== undefined && { observer: consoleObserver(this.consoleFeed) }),
    });
    this.calls.add(call);
  };

  async listen(port = this.config.port, host = this.config.host): Promise<AddressInfo> {
    await new Promise<void>((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(port, host, () => {
        this.server.off("error", reject);
        resolve();
      });
    });
    return this.server.address() as AddressInfo;
  }

  get isDraining(): boolean {
    return this.draining;
  }

  /**
   * Graceful shutdown: refuse new calls (readyz 503, upgrades 503), let live calls finish for up
   * to `timeoutMs`, then end the rest cleanly on both sides and close the listener.
   */
  async drain(timeoutMs = this.config.limits.drainTimeoutMs): Promise<void> {
    if (!this.draining) {
      this.draining = true;
      this.log.info(
        { event: "drain_start", active_calls: this.calls.size, timeout_ms: timeoutMs },
        "draining",
      );
    }
    const deadline = Date.now() + timeoutMs;
    while (this.calls.size > 0 && Date.now() < deadline) await sleep(Math.min(100, deadline - Date.now()));
    if (this.calls.size > 0) {
      this.log.warn(
        { event: "drain_timeout", active_calls: this.calls.size },
        "drain timeout: ending remaining calls",
      );
      for (const call of this.calls) call.close("server_shutdown");
      const hard = Date.now() + 1500;
      while (this.calls.size > 0 && Date.now() < hard) await sleep(20);
    }
    await this.close();
  }

  /** Closes the listener and every connection; live calls are ended with `server_shutdown`. */
  async close(): Promise<void> {
    this.draining = true;
    for (const call of this.calls) call.close("server_shutdown");
    this.ticker.stop();
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
    this.log.info({ event: "bridge_closed" }, "bridge closed");
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
