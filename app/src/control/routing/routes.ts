/**
 * `GET|POST /exotel/stream-url`: the Voicebot applet's dynamic URL. Answers `{"url":"wss://..."}`
 * for this call's plan (./resolve.ts), with the route's sample rate and a fresh, single-use
 * `call_token` that carries the plan to the stream; Exotel's extra query parameters become dynamic
 * variables (bounded as a stream's custom parameters are).
 */
import { randomBytes } from "node:crypto";
import type express from "express";
import type { Request, Response } from "express";
import type { Config } from "../../config.js";
import type { Logger } from "../../log.js";
import { customParams, exotelLog, exotelRoute, param } from "../exotel-request.js";
import type { CallRecords, PreparedPlan } from "../state/call-records.js";
import { maskUrl, streamUrl } from "../stream-url.js";
import { CALL_TOKEN_PARAM, tokenFromCustomField } from "./plans.js";
import { resolvePlan } from "./resolve.js";
import type { RoutingTable } from "./table.js";

export interface RoutingRoutesDeps {
  readonly config: Config;
  readonly log: Logger;
  readonly records: CallRecords;
  readonly routing: RoutingTable;
}

export function routingRoutes(
  router: express.Router,
  auth: express.RequestHandler,
  deps: RoutingRoutesDeps,
): void {
  const { config, log, records, routing } = deps;
  const control = config.control;

  const dynamicUrl = async (req: Request, res: Response): Promise<void> => {
    if (control.publicBaseUrl === undefined) {
      res
        .status(503)
        .json({ error: "not_configured", message: "set PUBLIC_BASE_URL to serve dynamic stream URLs" });
      return;
    }
    const callSid = param(req, "CallSid") ?? "";
    const to = param(req, "CallTo", "To") ?? "";
    const custom = customParams(req);

    // An outbound call we placed carries its token in CustomField (or its plan is under the call SID).
    const given = tokenFromCustomField(param(req, "CustomField"));
    const resolved = await resolvePlan(
      { records, routing, overrides: config.agent.overrides, log },
      // This request proved the credential, so its CallSid may name a prepared plan.
      { token: given, callSid, callSidAuthenticated: true, to, params: custom, now: new Date() },
      "dynamic_url",
    );
    let token: string | undefined;
    let toStore: PreparedPlan | undefined;
    if (resolved.by === "token" || resolved.by === "call_sid") {
      // The stream gets a token of its own for the same plan: the one given here is spent.
      toStore = resolved.prepared;
    } else if (resolved.by === "route" || Object.keys(custom).length > 0) {
      const fromRoute = resolved.by === "route" ? resolved.prepared : undefined;
      toStore = {
        ...(fromRoute ?? { source: "dynamic_url" as const }),
        dynamicVariables: { ...custom, ...(fromRoute?.dynamicVariables ?? {}) },
        ...(callSid !== "" && { callSid }),
      };
    }
    if (toStore !== undefined) {
      const fresh = randomBytes(16).toString("base64url");
      try {
        await records.putPlan(fresh, toStore);
        token = fresh;
      } catch (err) {
        // The stream still works: the plan hook matches the routing table itself.
        log.warn(
          {
            event: "state_write_failed",
            what: "dynamic_url_plan",
            call_sid: callSid,
            err: { message: (err as Error).message },
          },
          "could not store the dynamic-URL plan",
        );
      }
    }
    const routeName = resolved.by === "none" ? undefined : resolved.prepared.route;
    const sampleRate =
      (routeName !== undefined ? routing.get(routeName)?.sampleRate : undefined) ?? control.streamSampleRate;
    const url = streamUrl(
      control.publicBaseUrl,
      config.exotel.basicAuth,
      sampleRate,
      token !== undefined ? { [CALL_TOKEN_PARAM]: token } : {},
    );
    exotelLog(log, req, "exotel_stream_url", `dynamic stream URL for route ${routeName ?? "(default)"}`, {
      route: routeName,
      url: maskUrl(url),
      linked: token !== undefined,
    });
    res.json({ url });
  };

  exotelRoute(router, "/exotel/stream-url", auth, dynamicUrl);
}
