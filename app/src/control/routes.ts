/**
 * HTTP routes of call control, mounted by server.ts before its 404 handler:
 *
 *   POST /calls              place an outbound call (Bearer CALLS_API_TOKEN)
 *   GET  /exotel/connect     Programmable Connect: where to connect the caller (JSON)
 *   GET  /exotel/passthru    Passthru after the Voicebot applet: 200 = transfer, 302 = finished
 *   GET  /exotel/stream-url  Voicebot dynamic URL: {"url":"wss://..."} for this call's route
 *
 * Exotel's requests carry call parameters in the query (CallSid, CallFrom, CallTo, Direction,
 * CustomField, Stream[...]...); any extra parameter is accepted. POST with a form body works too.
 * With EXOTEL_WEBHOOK_TOKEN set, `/exotel/*` needs `?token=` (put it in the applet URLs).
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import express, { type NextFunction, type Request, type Response } from "express";
import type { Config } from "../config.js";
import type { Logger } from "../log.js";
import type { CallState, PreparedPlan } from "./call-state.js";
import { maskUrl, streamUrl } from "./exotel-api.js";
import { placeOutboundCall } from "./outbound.js";
import { CALL_TOKEN_PARAM, planFromRoute, tokenFromCustomField } from "./plans.js";
import type { RoutingTable } from "./routing.js";
import { awaitOutcome, passthruVerdict } from "./transfer.js";

/** Exotel's own parameter names: never treated as custom parameters for routing. */
const EXOTEL_PARAMS = new Set([
  "CallSid",
  "CallFrom",
  "CallTo",
  "From",
  "To",
  "Direction",
  "CustomField",
  "Created",
  "DialCallDuration",
  "StartTime",
  "EndTime",
  "CallType",
  "DialWhomNumber",
  "flow_id",
  "tenant_id",
  "digits",
  "token",
]);

/** Constant-time equality of two secrets of any length (compared as SHA-256 digests). */
export function secretMatches(given: string | undefined, expected: string): boolean {
  const a = createHash("sha256")
    .update(given ?? "")
    .digest();
  const b = createHash("sha256").update(expected).digest();
  return timingSafeEqual(a, b) && given !== undefined;
}

function param(req: Request, ...names: string[]): string | undefined {
  const sources = [req.query as Record<string, unknown>, (req.body ?? {}) as Record<string, unknown>];
  for (const name of names) {
    for (const src of sources) {
      const v = src[name];
      const first = Array.isArray(v) ? v[0] : v;
      if (typeof first === "string" && first !== "") return first.slice(0, 512);
    }
  }
  return undefined;
}

function allParams(req: Request): Record<string, string> {
  const out: Record<string, string> = Object.create(null);
  for (const src of [req.query as Record<string, unknown>, (req.body ?? {}) as Record<string, unknown>]) {
    if (src === null || typeof src !== "object") continue;
    for (const [k, v] of Object.entries(src)) {
      const first = Array.isArray(v) ? v[0] : v;
      if (typeof first === "string" && !(k in out) && k.length <= 64) out[k] = first.slice(0, 256);
    }
  }
  return out;
}

export interface ControlRoutesDeps {
  readonly config: Config;
  readonly log: Logger;
  readonly state: CallState;
  readonly routing: RoutingTable;
}

export function controlRoutes(deps: ControlRoutesDeps): express.Router {
  const { config, log, state, routing } = deps;
  const control = config.control;
  const router = express.Router();
  const form = express.urlencoded({ extended: false, limit: "32kb" });

  const exotelAuth = (req: Request, res: Response, next: NextFunction): void => {
    const expected = control.webhookToken;
    if (expected !== undefined && !secretMatches(param(req, "token"), expected)) {
      log.warn(
        { event: "exotel_webhook_refused", path: req.path, remote: req.ip },
        "Exotel request without the webhook token",
      );
      res.status(401).json({ error: "unauthorized" });
      return;
    }
    next();
  };

  // ------------------------------------------------------------------ outbound

  const bearer = (req: Request, res: Response, next: NextFunction): void => {
    const expected = control.outbound?.bearerToken;
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
    placeOutboundCall({ config, state, routing, log }, req.body)
      .then((r) => {
        res.status(r.status).json(r.body);
      })
      .catch(next);
  });

  // ------------------------------------------------------------------ Exotel applets

  /** One line per Exotel request, with every parameter it sent (Stream[Status], DisconnectedBy...). */
  const exotelLog = (
    req: Request,
    event: string,
    message: string,
    extra: Record<string, unknown> = {},
  ): void => {
    const params = allParams(req);
    delete params.token;
    const callSid = params.CallSid;
    log.info(
      {
        event,
        ...(callSid !== undefined && {
          call_sid: callSid,
          "logging.googleapis.com/labels": { call_sid: callSid },
        }),
        params,
        ...extra,
      },
      message,
    );
  };

  const connect = async (req: Request, res: Response): Promise<void> => {
    const callSid = param(req, "CallSid");
    const to = param(req, "CallTo", "To") ?? "";
    const decision = callSid ? await state.getTransfer(callSid).catch(() => undefined) : undefined;
    let numbers = decision?.numbers ?? [];
    let source = decision ? `agent's transfer (${decision.team ?? "default"})` : "no transfer decision";
    if (numbers.length === 0) {
      // No decision (or one without numbers): the route's default, then TRANSFER_NUMBERS' default.
      const route = routing.match({ to, params: allParams(req), now: new Date() });
      numbers = route?.transferNumbers?.default ?? control.transfer.numbers.default ?? [];
      source += ", default destination";
    }
    exotelLog(
      req,
      "exotel_connect",
      `Exotel Connect: ${numbers.length > 0 ? source : "no destination configured"}`,
      {
        team: decision?.team,
        numbers: numbers.length,
        status: numbers.length > 0 ? 200 : 404,
      },
    );
    if (numbers.length === 0) {
      res.status(404).json({ error: "no_destination" });
      return;
    }
    res.json({
      destination: { numbers },
      record: control.transfer.record,
      max_ringing_duration: control.transfer.maxRingingS,
    });
  };

  const passthru = async (req: Request, res: Response): Promise<void> => {
    const callSid = param(req, "CallSid");
    const { transfer, outcome } = callSid
      ? await awaitOutcome(state, callSid, control.transfer.passthruWaitMs, log)
      : { transfer: undefined, outcome: undefined };
    const verdict = passthruVerdict(transfer, outcome, control.transfer.onFailure);
    exotelLog(
      req,
      "exotel_passthru",
      `Exotel Passthru: ${verdict.status} ${verdict.branch}${outcome ? ` (call ended: ${outcome.endReason})` : ""}`,
      {
        status: verdict.status,
        branch: verdict.branch,
        end_reason: outcome?.endReason,
        stream_status: param(req, "Stream[Status]"),
        disconnected_by: param(req, "Stream[DisconnectedBy]"),
      },
    );
    res.status(verdict.status).type("text/plain").send(verdict.branch);
  };

  const dynamicUrl = async (req: Request, res: Response): Promise<void> => {
    if (control.publicBaseUrl === undefined) {
      res
        .status(503)
        .json({ error: "not_configured", message: "set PUBLIC_BASE_URL to serve dynamic stream URLs" });
      return;
    }
    const callSid = param(req, "CallSid") ?? "";
    const to = param(req, "CallTo", "To") ?? "";
    const params = allParams(req);
    const custom: Record<string, string> = {};
    for (const [k, v] of Object.entries(params)) if (!EXOTEL_PARAMS.has(k)) custom[k] = v;

    // An outbound call we placed: its token is in CustomField (or its plan is under the call SID).
    let token = tokenFromCustomField(param(req, "CustomField"));
    let prepared: PreparedPlan | undefined;
    try {
      if (token !== undefined) prepared = await state.getPlan(token);
      if (prepared === undefined && callSid !== "") {
        prepared = await state.getPlanBySid(callSid);
        token = undefined;
      }
    } catch {
      prepared = undefined;
    }
    let routeName = prepared?.route;
    let sampleRate = (routeName ? routing.get(routeName)?.sampleRate : undefined) ?? control.streamSampleRate;
    if (prepared === undefined) {
      token = undefined;
      const route = routing.match({ to, params: custom, now: new Date() });
      routeName = route?.name;
      if (route?.sampleRate !== undefined) sampleRate = route.sampleRate;
      const plan: PreparedPlan | undefined =
        route || Object.keys(custom).length > 0
          ? {
              ...(route
                ? planFromRoute(route, config.agent.overrides, "dynamic_url")
                : { source: "dynamic_url" as const }),
              dynamicVariables: {
                ...custom,
                ...(route?.dynamicVariables ?? {}),
              },
              ...(callSid !== "" && { callSid }),
            }
          : undefined;
      if (plan !== undefined) {
        const fresh = randomBytes(16).toString("base64url");
        try {
          await state.putPlan(fresh, plan);
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
    } else if (token === undefined) {
      // Found by call SID: hand the stream a token of its own for the same plan.
      const fresh = randomBytes(16).toString("base64url");
      await state.putPlan(fresh, prepared).then(
        () => {
          token = fresh;
        },
        () => {},
      );
    }
    const url = streamUrl(
      control.publicBaseUrl,
      config.exotel.basicAuth,
      sampleRate,
      token !== undefined ? { [CALL_TOKEN_PARAM]: token } : {},
    );
    exotelLog(req, "exotel_stream_url", `dynamic stream URL for route ${routeName ?? "(default)"}`, {
      route: routeName,
      url: maskUrl(url),
      linked: token !== undefined,
    });
    res.json({ url });
  };

  const wrap =
    (fn: (req: Request, res: Response) => Promise<void>) =>
    (req: Request, res: Response, next: NextFunction): void => {
      fn(req, res).catch(next);
    };
  for (const [path, handler] of [
    ["/exotel/connect", connect],
    ["/exotel/passthru", passthru],
    ["/exotel/stream-url", dynamicUrl],
  ] as const) {
    router.get(path, exotelAuth, wrap(handler));
    router.post(path, form, exotelAuth, wrap(handler));
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
