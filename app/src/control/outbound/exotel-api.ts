/**
 * Exotel's REST side, as far as call control needs it (docs/call-control.md, "Outbound calls"):
 *
 *   POST {base}/v1/Accounts/{AccountSid}/Calls/connect.json     HTTP Basic api_key:api_token
 *        application/x-www-form-urlencoded
 *        flow mode:   From, CallerId, CallType=trans, Url=http://my.exotel.com/{sid}/exoml/start_voice/{app_id},
 *                     CustomField
 *        direct mode: From, CallerId, StreamUrl (wss, <= 600 chars), StreamType=bidirectional, CustomField
 *        both, when set: TimeLimit, Record, RecordingChannels, StatusCallback,
 *                     StatusCallbackEvents[0]=terminal, StatusCallbackContentType=application/json
 *   200 {"Call":{"Sid":"...","Status":"..."}}   4xx/5xx {"RestException":{"Status":..,"Message":".."}}
 *   Exotel's pages and clients spell the reply's names in either case (`Call.Sid`, `call.sid`): both
 *   are read, since misreading a placed call as failed makes a retrying client ring the customer twice.
 *
 * Credentials go in the Authorization header only; errors carry Exotel's message, never ours.
 */

export interface ExotelApi {
  /** `https://api.in.exotel.com` (Mumbai) or `https://api.exotel.com` (Singapore), or a stand-in. */
  readonly baseUrl: string;
  readonly accountSid: string;
  readonly apiKey: string;
  readonly apiToken: string;
}

export type ConnectTarget =
  | { readonly mode: "flow"; readonly appId: string }
  | { readonly mode: "stream"; readonly streamUrl: string };

export interface ConnectRequest {
  /** The number to dial (the customer). */
  readonly from: string;
  /** The ExoPhone shown to the customer. */
  readonly callerId: string;
  readonly target: ConnectTarget;
  /** At most 128 characters. */
  readonly customField?: string;
  /** Seconds; Exotel allows at most 14400. */
  readonly timeLimitS?: number;
  readonly record?: boolean;
  readonly recordingChannels?: "single" | "dual";
  /** Where Exotel posts the call's final status. */
  readonly statusCallback?: string;
}

export interface ConnectReply {
  readonly sid: string;
  readonly status: string;
}

export const MAX_STREAM_URL = 600;
export const MAX_CUSTOM_FIELD = 128;

export class ExotelApiError extends Error {
  override readonly name = "ExotelApiError";
  constructor(
    message: string,
    /** Exotel's HTTP status; undefined for network errors and timeouts. */
    readonly status?: number,
  ) {
    super(message);
  }
}

/** The exact form Exotel receives (exported for tests and for the docs). */
export function connectForm(accountSid: string, req: ConnectRequest): URLSearchParams {
  const form = new URLSearchParams();
  form.set("From", req.from);
  form.set("CallerId", req.callerId);
  if (req.target.mode === "flow") {
    // The flow-call article lists CallType as mandatory; the newer reference as optional: send it.
    form.set("CallType", "trans");
    form.set("Url", `http://my.exotel.com/${accountSid}/exoml/start_voice/${req.target.appId}`);
  } else {
    if (req.target.streamUrl.length > MAX_STREAM_URL)
      throw new ExotelApiError(
        `StreamUrl is ${req.target.streamUrl.length} characters; Exotel allows ${MAX_STREAM_URL}`,
      );
    form.set("StreamUrl", req.target.streamUrl);
    form.set("StreamType", "bidirectional");
  }
  if (req.customField !== undefined) {
    if (req.customField.length > MAX_CUSTOM_FIELD)
      throw new ExotelApiError(`CustomField is longer than ${MAX_CUSTOM_FIELD} characters`);
    form.set("CustomField", req.customField);
  }
  if (req.timeLimitS !== undefined && req.timeLimitS > 0) form.set("TimeLimit", String(req.timeLimitS));
  // Exotel records only when asked: a `Record=false` would say nothing new.
  if (req.record === true) {
    form.set("Record", "true");
    if (req.recordingChannels !== undefined) form.set("RecordingChannels", req.recordingChannels);
  }
  if (req.statusCallback !== undefined) {
    form.set("StatusCallback", req.statusCallback);
    form.set("StatusCallbackEvents[0]", "terminal");
    form.set("StatusCallbackContentType", "application/json");
  }
  return form;
}

export async function connectCall(
  api: ExotelApi,
  req: ConnectRequest,
  timeoutMs = 10_000,
): Promise<ConnectReply> {
  const form = connectForm(api.accountSid, req);
  const url = `${api.baseUrl}/v1/Accounts/${encodeURIComponent(api.accountSid)}/Calls/connect.json`;
  let res: Response;
  try {
    res = await fetch(url, {
      method: "POST",
      headers: {
        Authorization: `Basic ${Buffer.from(`${api.apiKey}:${api.apiToken}`).toString("base64")}`,
        "Content-Type": "application/x-www-form-urlencoded",
        Accept: "application/json",
      },
      body: form.toString(),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    const e = err as Error;
    const why =
      e.name === "TimeoutError" ? `no answer in ${timeoutMs} ms` : ((e.cause as Error)?.message ?? e.message);
    throw new ExotelApiError(`Exotel API unreachable: ${why}`);
  }
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (!res.ok) {
    const message = field(field(body, "RestException"), "Message");
    throw new ExotelApiError(
      `Exotel refused the call: ${typeof message === "string" ? message.slice(0, 300) : `HTTP ${res.status}`}`,
      res.status,
    );
  }
  const call = field(body, "Call");
  const sid = field(call, "Sid");
  if (typeof sid !== "string" || sid === "" || sid.length > 128)
    throw new ExotelApiError("Exotel's reply has no Call.Sid", res.status);
  const status = field(call, "Status");
  return { sid, status: typeof status === "string" ? status.slice(0, 64) : "" };
}

/** `obj[name]`, the name matched without regard to case (`Call`/`call`, `Sid`/`sid`). */
export function field(obj: unknown, name: string): unknown {
  if (obj === null || typeof obj !== "object" || Array.isArray(obj)) return undefined;
  const rec = obj as Record<string, unknown>;
  if (Object.hasOwn(rec, name)) return rec[name];
  const want = name.toLowerCase();
  for (const k of Object.keys(rec)) if (k.toLowerCase() === want) return rec[k];
  return undefined;
}
