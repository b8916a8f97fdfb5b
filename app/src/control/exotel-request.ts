/**
 * Reading Exotel's applet requests (Connect, Passthru, dynamic URL), shared by the feature routes:
 * call parameters arrive in the query (CallSid, CallFrom, CallTo, Direction, CustomField,
 * Stream[...]...) or, for POST, in a form body; any extra parameter is accepted. Also the webhook
 * credential check and the one log line per request.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import express, { type NextFunction, type Request, type Response } from "express";
import type { Logger } from "../log.js";

/** Exotel's own parameter names: never treated as custom parameters for routing. */
export const EXOTEL_PARAMS = new Set([
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

/** Form bodies of Exotel's POST requests. */
export const exotelForm = express.urlencoded({ extended: false, limit: "32kb" });

/** Constant-time equality of two secrets of any length (compared as SHA-256 digests). */
export function secretMatches(given: string | undefined, expected: string): boolean {
  const a = createHash("sha256")
    .update(given ?? "")
    .digest();
  const b = createHash("sha256").update(expected).digest();
  return timingSafeEqual(a, b) && given !== undefined;
}

/** The first non-empty value of the first of `names` present (query before body), capped. */
export function param(req: Request, ...names: string[]): string | undefined {
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

export function allParams(req: Request): Record<string, string> {
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

/** With EXOTEL_WEBHOOK_TOKEN set, `/exotel/*` needs `?token=` (put it in the applet URLs). */
export function exotelAuth(webhookToken: string | undefined, log: Logger) {
  return (req: Request, res: Response, next: NextFunction): void => {
    if (webhookToken !== undefined && !secretMatches(param(req, "token"), webhookToken)) {
      log.warn(
        { event: "exotel_webhook_refused", path: req.path, remote: req.ip },
        "Exotel request without the webhook token",
      );
      res.status(401).json({ error: "unauthorized" });
      return;
    }
    next();
  };
}

/** One line per Exotel request, with every parameter it sent (Stream[Status], DisconnectedBy...). */
export function exotelLog(
  log: Logger,
  req: Request,
  event: string,
  message: string,
  extra: Record<string, unknown> = {},
): void {
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
}

type Handler = (req: Request, res: Response) => Promise<void>;

/** Mounts `handler` for GET and form POST at `path`, behind the webhook credential. */
export function exotelRoute(
  router: express.Router,
  path: string,
  auth: express.RequestHandler,
  handler: Handler,
): void {
  const run = (req: Request, res: Response, next: NextFunction): void => {
    handler(req, res).catch(next);
  };
  router.get(path, auth, run);
  router.post(path, exotelForm, auth, run);
}
