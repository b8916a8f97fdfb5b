/**
 * `POST /calls`: place an outbound call (Bearer CALLS_API_TOKEN). Without CALLS_API_TOKEN the
 * route answers 404, as if it did not exist.
 */
import express, { type NextFunction, type Request, type Response } from "express";
import type { Config } from "../../config.js";
import type { Logger } from "../../log.js";
import { secretMatches } from "../exotel-request.js";
import type { RoutingTable } from "../routing/table.js";
import type { CallRecords } from "../state/call-records.js";
import { placeOutboundCall } from "./place-call.js";
import type { OutboundMetrics } from "./status.js";

export interface OutboundRoutesDeps {
  readonly config: Config;
  readonly log: Logger;
  readonly records: CallRecords;
  readonly routing: RoutingTable;
  readonly outboundMetrics: OutboundMetrics;
}

export function outboundRoutes(router: express.Router, deps: OutboundRoutesDeps): void {
  const { config, log, records, routing, outboundMetrics } = deps;

  const bearer = (req: Request, res: Response, next: NextFunction): void => {
    const expected = config.control.outbound?.bearerToken;
    if (expected === undefined) {
      res.status(404).type("text/plain").send("Not Found");
      return;
    }
    const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? "");
    if (!secretMatches(m?.[1], expected)) {
      res.status(401).set("WWW-Authenticate", 'Bearer realm="exotel-bridge"').json({ error: "unauthorized" });
      return;
    }
    next();
  };

  router.post("/calls", bearer, express.json({ limit: "64kb" }), (req, res, next) => {
    placeOutboundCall({ config, records, routing, log, metrics: outboundMetrics }, req.body)
      .then((r) => {
        res.status(r.status).json(r.body);
      })
      .catch(next);
  });
}
