/**
 * Signed-URL client: `GET /v1/convai/conversation/get-signed-url` with `xi-api-key`
 * (docs/protocols.md, "Hosts and authentication"). The API key goes only here, over HTTPS, never on a WebSocket.
 * The signed URL itself is a short-lived credential: callers must not log it.
 */
import { AgentConnectError } from "../call-endings.js";
import { type AgentEndpoints, signedUrlEndpoint } from "./hosts.js";

export interface SignedUrlRequest {
  readonly endpoints: AgentEndpoints;
  readonly agentId: string;
  readonly apiKey: string;
  readonly timeoutMs: number;
  /** Aborts the request when the call goes away first. */
  readonly signal?: AbortSignal;
}

function statusError(status: number): AgentConnectError {
  if (status === 401 || status === 403)
    return new AgentConnectError(
      "auth",
      `signed URL refused with HTTP ${status}: check ELEVENLABS_API_KEY`,
      status,
    );
  if (status === 404 || status === 422 || status === 400)
    return new AgentConnectError(
      "agent_not_found",
      `signed URL refused with HTTP ${status}: agent not found (check the agent id and ELEVENLABS_REGION)`,
      status,
    );
  if (status === 429)
    return new AgentConnectError(
      "rate_limited",
      "signed URL refused with HTTP 429: concurrency or rate limit",
      status,
    );
  return new AgentConnectError("upstream", `signed URL request failed with HTTP ${status}`, status);
}

function networkError(err: unknown, timeoutMs: number): AgentConnectError {
  const e = err as { name?: string; cause?: { code?: string } };
  if (e.name === "TimeoutError")
    return new AgentConnectError("timeout", `signed URL request timed out after ${timeoutMs} ms`);
  if (e.name === "AbortError") return new AgentConnectError("timeout", "signed URL request aborted");
  const code = e.cause?.code ?? "unknown";
  return new AgentConnectError("network", `signed URL request failed: ${code}`);
}

export async function fetchSignedUrl(req: SignedUrlRequest): Promise<string> {
  const timeout = AbortSignal.timeout(req.timeoutMs);
  const signal = req.signal ? AbortSignal.any([timeout, req.signal]) : timeout;
  let res: Response;
  try {
    res = await fetch(signedUrlEndpoint(req.endpoints, req.agentId), {
      headers: { "xi-api-key": req.apiKey, accept: "application/json" },
      signal,
    });
  } catch (err) {
    throw networkError(err, req.timeoutMs);
  }
  if (!res.ok) {
    await res.body?.cancel().catch(() => {});
    throw statusError(res.status);
  }
  let body: unknown;
  try {
    body = await res.json();
  } catch (err) {
    if ((err as { name?: string }).name === "TimeoutError") throw networkError(err, req.timeoutMs);
    throw new AgentConnectError("bad_response", "signed URL reply is not JSON", res.status);
  }
  const url = (body as { signed_url?: unknown } | null)?.signed_url;
  if (typeof url !== "string" || !/^wss?:\/\//.test(url))
    throw new AgentConnectError("bad_response", "signed URL reply has no ws(s):// signed_url", res.status);
  return url;
}
