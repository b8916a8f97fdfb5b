/**
 * Reading Exotel's applet requests (Connect, Passthru, dynamic URL, status callbacks), shared by
 * the feature routes: call parameters arrive in the query (CallSid, CallFrom, CallTo, Direction,
 * CustomField, Stream[...]...) or, for POST, in a form or JSON body, with names in any case; any
 * extra parameter is accepted, within bounds.
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

/**
 * Exotel's own parameter names (lower case: they are matched without regard to case), never
 * treated as custom parameters for routing.
 */
export const EXOTEL_PARAMS = new Set(
  [
    "CallSid",
    "CallFrom",
    "CallTo",
    "From",
    "To",
    "Direction",
    "CustomField",
    "Created",
    "DialCallDuration",
    "DialCallStatus",
    "StartTime",
    "EndTime",
    "CurrentTime",
    "CallType",
    "CallStatus",
    "DialWhomNumber",
    "RecordingUrl",
    "AccountSid",
    "StreamSid",
    "StreamUrl",
    "EventType",
    "flow_id",
    "tenant_id",
    "digits",
    "token",
  ].map((n) => n.toLowerCase()),
);

/** Form bodies of Exotel's POST requests (read only once the credential has been checked). */
export const exotelForm = express.urlencoded({ extended: false, limit: "32kb", parameterLimit: 200 });

/** JSON bodies (the AgentStream Passthru posts one), same bound as the form. */
export const exotelJson = express.json({ limit: "32kb" });

/** Constant-time equality of two secrets of any length (compared as SHA-256 digests). */
export function secretMatches(given: string | undefined, expected: string): boolean {
  const a = createHash("sha256")
    .update(given ?? "")
    .digest();
  const b = createHash("sha256").update(expected).digest();
  return timingSafeEqual(a, b) && given !== undefined;
}

function scalar(v: unknown): string | undefined {
  const first = Array.isArray(v) ? v[0] : v;
  if (typeof first === "string") return first;
  if (typeof first === "number" || typeof first === "boolean") return String(first);
  return undefined;
}

/**
 * Every parameter of the request as `[name, value]`, query first, then the body. The same call
 * detail reaches us in several shapes (docs/call-control.md, "What Exotel sends"): a GET query, a
 * form, or a JSON body; `Stream[Status]=...` as a flat bracketed name or `{"Stream":{"Status":..}}`
 * as an object. A JSON object one level deep is flattened to the bracketed names, so every reader
 * sees one shape. Bounded in count, name and value length.
 */
function readParams(req: Request): ReadonlyArray<readonly [string, string]> {
  const cached = PARSED.get(req);
  if (cached !== undefined) return cached;
  const out: Array<readonly [string, string]> = [];
  const add = (k: string, v: unknown): boolean => {
    if (out.length >= MAX_REQUEST_PARAMS) return false;
    const value = scalar(v);
    if (value !== undefined && k.length <= 64) out.push([k, value.slice(0, 512)]);
    return true;
  };
  outer: for (const src of [req.query as unknown, req.body as unknown]) {
    if (src === null || typeof src !== "object" || Array.isArray(src)) continue;
    for (const [k, v] of Object.entries(src as Record<string, unknown>)) {
      if (v !== null && typeof v === "object" && !Array.isArray(v)) {
        for (const [k2, v2] of Object.entries(v as Record<string, unknown>))
          if (!add(`${k}[${k2}]`, v2)) break outer;
      } else if (!add(k, v)) break outer;
    }
  }
  PARSED.set(req, out);
  return out;
}

const PARSED = new WeakMap<Request, ReadonlyArray<readonly [string, string]>>();

/**
 * The first non-empty value of the first of `names` present (query before body), capped. Names
 * match without regard to case: Exotel's own pages spell the same parameter `CallSid`,
 * `callsid` and `Callfrom`.
 */
export function param(req: Request, ...names: string[]): string | undefined {
  const params = readParams(req);
  for (const name of names) {
    const want = name.toLowerCase();
    for (const [k, v] of params) if (v !== "" && k.toLowerCase() === want) return v;
  }
  return undefined;
}

/** Every parameter (query before body), at most MAX_REQUEST_PARAMS, names and values capped. */
export function allParams(req: Request): Record<string, string> {
  const out: Record<string, string> = Object.create(null);
  for (const [k, v] of readParams(req)) if (!(k in out)) out[k] = v.slice(0, 256);
  return out;
}

/**
 * The request's custom parameters (everything that is not Exotel's own), bounded in count, name
 * and size by the same rule the stream parser applies to a stream's custom parameters: these
 * become a call's dynamic variables and are held in the state store until the stream starts.
 */
export function customParams(req: Request): Record<string, string> {
  const custom: Record<string, string> = Object.create(null);
  for (const [k, v] of Object.entries(allParams(req))) {
    const lower = k.toLowerCase();
    if (!EXOTEL_PARAMS.has(lower) && !lower.startsWith("stream[")) custom[k] = v;
  }
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
  for (const k of Object.keys(params)) if (k.toLowerCase() === "token") delete params[k];
  const callSid = param(req, "CallSid");
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

/** Mounts `handler` for GET and POST (form or JSON) at `path`, behind the webhook credential. */
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
  router.post(path, auth, exotelForm, exotelJson, run);
}
