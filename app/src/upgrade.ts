/**
 * Decides whether an HTTP upgrade on the Exotel path may become a call, before any WebSocket
 * exists: refusals are plain HTTP statuses (401, 403, 404, 400, 503) with no detail in the body.
 * Pure apart from reading the request; server.ts applies the verdict.
 */
import type { IncomingMessage } from "node:http";
import type { BlockList } from "node:net";
import { type ExotelSampleRate, isExotelSampleRate } from "./audio/formats.js";
import { basicMatches } from "./auth.js";
import type { CallRequest } from "./call/call.js";
import { type Config, isAgentAllowed } from "./config.js";
import { clientAddress, isAllowed } from "./net.js";

export const MEDIA_PATH = "/media";

export type UpgradeVerdict =
  | { readonly ok: true; readonly call: CallRequest }
  | { readonly ok: false; readonly status: 400 | 401 | 403 | 404 | 503; readonly reason: string };

export interface UpgradeState {
  readonly draining: boolean;
  readonly activeCalls: number;
  /** Built once from config.exotel.allowedCidrs; undefined = any address. */
  readonly allowList?: BlockList | undefined;
}

/** Constant-time Basic credential check (auth.ts); kept under this name for existing callers. */
export const basicAuthMatches = basicMatches;

function firstValues(params: URLSearchParams): Record<string, string> {
  const out: Record<string, string> = Object.create(null);
  for (const [k, v] of params) {
    if (!(k in out) && k !== "__proto__" && k.length <= 64) out[k] = v.slice(0, 512);
  }
  return out;
}

export function verifyUpgrade(req: IncomingMessage, config: Config, state: UpgradeState): UpgradeVerdict {
  const url = new URL(req.url ?? "/", "http://bridge.invalid");
  const path = url.pathname.replace(/\/+$/, "") || "/";
  if (path !== MEDIA_PATH) return { ok: false, status: 404, reason: "unknown path" };
  const client = clientAddress(
    req.socket.remoteAddress,
    req.headers["x-forwarded-for"],
    config.exotel.trustedProxyHops,
  );
  if (state.allowList !== undefined && !isAllowed(state.allowList, client)) {
    return { ok: false, status: 403, reason: `address ${client ?? "unknown"} not in EXOTEL_ALLOWED_CIDRS` };
  }
  // The credential before load: a stranger learns nothing about draining or capacity.
  const expected = config.exotel.basicAuth;
  if (expected !== undefined && !basicMatches(req.headers.authorization, expected)) {
    return { ok: false, status: 401, reason: "bad or missing Basic credential" };
  }
  if (state.draining) return { ok: false, status: 503, reason: "draining" };
  if (state.activeCalls >= config.limits.maxConcurrentCalls)
    return { ok: false, status: 503, reason: "at capacity" };
  const query = firstValues(url.searchParams);
  let sampleRate: ExotelSampleRate | undefined;
  const rawRate = query["sample-rate"] ?? query.sample_rate;
  if (rawRate !== undefined) {
    const n = Number.parseInt(rawRate, 10);
    if (!isExotelSampleRate(n))
      return { ok: false, status: 400, reason: "sample-rate must be 8000, 16000 or 24000" };
    sampleRate = n;
  }
  const agentId = query.agent_id;
  if (agentId !== undefined && !isAgentAllowed(config, agentId)) {
    return { ok: false, status: 403, reason: "agent_id not allowed" };
  }
  return { ok: true, call: { query, sampleRate, remoteAddress: client ?? req.socket.remoteAddress ?? "" } };
}
