/**
 * Signed-URL client: `GET /v1/convai/conversation/get-signed-url` with `xi-api-key`
 * (docs/protocols.md, "Hosts and authentication"). The API key goes only here, over HTTPS, never on a WebSocket.
 * The signed URL itself is a short-lived credential: callers must not log it, and no error made here
 * quotes it (a malformed one is refused by `signedUrlProblem`, naming the defect only).
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
  const problem = signedUrlProblem(url);
  if (problem !== undefined)
    throw new AgentConnectError("bad_signed_url", `signed URL reply unusable: ${problem}`, res.status);
  return url as string;
}

/** Longest signed URL accepted; real ones are a few hundred characters. */
const MAX_SIGNED_URL_CHARS = 8192;

/**
 * Why `value` cannot be opened as the agent socket, or undefined when it can. The answer names the
 * defect only: the URL carries a conversation token and must not reach a log line or an error.
 * The checks are the ones `ws` makes before it throws (WHATWG URL, ws/wss, no fragment), so a URL
 * that passes here opens without a synchronous throw.
 */
export function signedUrlProblem(value: unknown): string | undefined {
  if (typeof value !== "string" || value === "") return "no signed_url string";
  if (value.length > MAX_SIGNED_URL_CHARS) return `longer than ${MAX_SIGNED_URL_CHARS} characters`;
  if (!URL.canParse(value)) return "not a valid URL";
  const url = new URL(value);
  if (url.protocol !== "wss:" && url.protocol !== "ws:") return "not a ws(s) URL";
  if (url.hostname === "") return "no host";
  if (url.hash !== "") return "has a fragment";
  return undefined;
}
