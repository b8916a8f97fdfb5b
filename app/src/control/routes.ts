/**
 * HTTP routes of call control, mounted by server.ts before its 404 handler. Each feature brings
 * its own:
 *
 *   POST /calls              place an outbound call (Bearer CALLS_API_TOKEN)       ./outbound/routes.ts
 *   GET  /exotel/connect     Programmable Connect: where to connect the caller     ./transfer/routes.ts
 *   GET  /exotel/passthru    Passthru after the Voicebot applet                     ./transfer/routes.ts
 *   GET  /exotel/stream-url  Voicebot dynamic URL: {"url":"wss://..."}              ./routing/routes.ts
 *   POST /exotel/status      StatusCallback of a placed call (final status)        ./outbound/status.ts
 *
 * `/exotel/*` also take a form POST, and share one credential check (./exotel-request.ts): the
 * EXOTEL_WEBHOOK_TOKEN or the EXOTEL_BASIC_AUTH credential. With neither configured they are not
 * served at all (404), and configuration refuses to start call control that needs them.
 */
import express, { type NextFunction, type Request, type Response } from "express";
import type { Config } from "../config.js";
import type { Logger } from "../log.js";
import { exotelAuth } from "./exotel-request.js";
import { outboundRoutes } from "./outbound/routes.js";
import { type OutboundMetrics, statusRoutes } from "./outbound/status.js";
import { routingRoutes } from "./routing/routes.js";
import type { RoutingTable } from "./routing/table.js";
import type { CallRecords } from "./state/call-records.js";
import { transferRoutes } from "./transfer/routes.js";

export interface ControlRoutesDeps {
  readonly config: Config;
  readonly log: Logger;
  readonly records: CallRecords;
  readonly routing: RoutingTable;
  readonly outboundMetrics: OutboundMetrics;
}

export function controlRoutes(deps: ControlRoutesDeps): express.Router {
  const { config, log } = deps;
  const router = express.Router();
  const credentials = { token: config.control.webhookToken, basic: config.exotel.basicAuth };

  outboundRoutes(router, deps);
  if (credentials.token !== undefined || credentials.basic !== undefined) {
    const auth = exotelAuth(credentials, log);
    transferRoutes(router, auth, deps);
    routingRoutes(router, auth, deps);
    statusRoutes(router, auth, { log, records: deps.records, metrics: deps.outboundMetrics });
  }

  // Bad JSON, oversized bodies, unexpected errors: a short JSON answer, never a stack trace.
  router.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const status = (err as { status?: number }).status;
    if (status !== undefined && status >= 400 && status < 500) {
      res.status(status).json({ error: "bad_request", problems: [(err as Error).message.slice(0, 200)] });
      return;
    }
    log.error({ event: "control_route_error", path: req.path, err }, "call-control route failed");
    res.status(500).json({ error: "internal_error" });
  });

  return router;
}
