/**
 * Reading Exotel's applet requests (Connect, Passthru, dynamic URL), shared by the feature routes:
 * call parameters arrive in the query (CallSid, CallFrom, CallTo, Direction, CustomField,
 * Stream[...]...) or, for POST, in a form body; any extra parameter is accepted, within bounds.
 * Also the credential every `/exotel/*` request must carry and the one log line per request.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import express, { type NextFunction, type Request, type Response } from "express";
import { sanitizeParameters } from "../exotel/parse.js";
import type { Logger } from "../log.js";
import { basicAuthMatches } from "../upgrade.js";

/**
 * Parameters read from one request. Exotel's applets send about twenty (Stream[...] included);
 * anything past this is ignored, so a request's size never turns into memory held per call.
 */
const MAX_REQUEST_PARAMS = 64;

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

/** Form bodies of Exotel's POST requests (read only once the credential has been checked). */
export const exotelForm = express.urlencoded({ extended: false, limit: "32kb", parameterLimit: 200 });

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

/** Every parameter (query before body), at most MAX_REQUEST_PARAMS, names and values capped. */
export function allParams(req: Request): Record<string, string> {
  const out: Record<string, string> = Object.create(null);
  let n = 0;
  for (const src of [req.query as Record<string, unknown>, (req.body ?? {}) as Record<string, unknown>]) {
    if (src === null || typeof src !== "object") continue;
    for (const [k, v] of Object.entries(src)) {
      if (n >= MAX_REQUEST_PARAMS) return out;
      const first = Array.isArray(v) ? v[0] : v;
      if (typeof first === "string" && !(k in out) && k.length <= 64) {
        out[k] = first.slice(0, 256);
        n++;
      }
    }
  }
  return out;
}

/**
 * The request's custom parameters (everything that is not Exotel's own), bounded in count, name
 * and size by the same rule the stream parser applies to a stream's custom parameters: these
 * become a call's dynamic variables and are held in the state store until the stream starts.
 */
export function customParams(req: Request): Record<string, string> {
  const custom: Record<string, string> = Object.create(null);
  for (const [k, v] of Object.entries(allParams(req))) if (!EXOTEL_PARAMS.has(k)) custom[k] = v;
  return sanitizeParameters(custom);
}

export interface ExotelCredentials {
  /** EXOTEL_WEBHOOK_TOKEN: `?token=` in the applet URL. */
  readonly token: string | undefined;
  /** EXOTEL_BASIC_AUTH `key:token`: an `Authorization: Basic` header. */
  readonly basic: string | undefined;
}

/** Refusals logged at most this often; the rest are counted into the next line. */
const REFUSAL_LOG_EVERY_MS = 10_000;

/**
 * Every `/exotel/*` request must carry a configured credential: the token in the query or the
 * Basic credential in the Authorization header, either one. Checked before any body is read and
 * before any state is touched, so a refused request costs the same whatever call it names; the
 * refusal says nothing beyond 401. Both compares are constant-time.
 */
export function exotelAuth(credentials: ExotelCredentials, log: Logger) {
  let lastLogged = 0;
  let unlogged = 0;
  const challenge =
    credentials.basic !== undefined ? { "WWW-Authenticate": 'Basic realm="exotel-bridge"' } : undefined;
  return (req: Request, res: Response, next: NextFunction): void => {
    const query = req.query as Record<string, unknown>;
    const given = typeof query.token === "string" ? query.token : undefined;
    // Both checks always run, so timing does not tell which credential is configured or tried.
    const byToken = credentials.token !== undefined && secretMatches(given, credentials.token);
    const byBasic =
      credentials.basic !== undefined && basicAuthMatches(req.headers.authorization, credentials.basic);
    if (byToken || byBasic) {
      next();
      return;
    }
    const now = Date.now();
    if (now - lastLogged >= REFUSAL_LOG_EVERY_MS) {
      log.warn(
        { event: "exotel_webhook_refused", path: req.path, remote: req.ip, also_refused: unlogged },
        "Exotel request without a valid credential refused",
      );
      lastLogged = now;
      unlogged = 0;
    } else {
      unlogged++;
    }
    res
      .status(401)
      .set(challenge ?? {})
      .end();
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
  router.post(path, auth, exotelForm, run);
}
