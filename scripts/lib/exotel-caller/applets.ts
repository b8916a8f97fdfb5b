/**
 * Exotel's flow after the Voicebot applet, as a flow built for transfers runs it once the stream has
 * closed: Passthru (a GET with the call details as query parameters; 200 takes one branch, 302 the
 * other), then on 200 the Connect applet in dynamic-URL mode (a GET; the JSON reply says whom to
 * ring). Written from Exotel's applet articles (docs/call-control.md lists them), not from the
 * bridge's code. Used by `npm run demo -- --transfer`.
 */

export interface FlowOptions {
  /** `http://127.0.0.1:PORT`: the bridge's HTTP side. */
  readonly baseUrl: string;
  /** The applet URLs' `?token=` (EXOTEL_WEBHOOK_TOKEN). */
  readonly token: string;
  readonly callSid: string;
  readonly from: string;
  readonly to: string;
  /** How the stream ended, as Exotel reports it in `Stream[Status]` / `Stream[DisconnectedBy]`. */
  readonly streamStatus?: string;
  readonly disconnectedBy?: string;
  readonly timeoutMs?: number;
}

export type FlowStep =
  | { readonly applet: "passthru"; readonly url: string; readonly status: number; readonly body: string }
  | { readonly applet: "connect"; readonly url: string; readonly status: number; readonly reply: unknown }
  | { readonly applet: "hangup"; readonly reason: string };

export interface FlowResult {
  readonly steps: readonly FlowStep[];
  /** The numbers Connect would ring, in order; empty when the flow hung up or had none. */
  readonly numbers: readonly string[];
}

/** Runs Passthru then (on 200) Connect against the bridge; never throws for an HTTP answer. */
export async function followFlowAfterStream(o: FlowOptions): Promise<FlowResult> {
  const steps: FlowStep[] = [];
  const common = new URLSearchParams({
    token: o.token,
    CallSid: o.callSid,
    CallFrom: o.from,
    CallTo: o.to,
    Direction: "incoming",
    CurrentTime: new Date().toISOString().replace("T", " ").slice(0, 19),
  });
  const passthruQuery = new URLSearchParams(common);
  passthruQuery.set("Stream[Status]", o.streamStatus ?? "completed");
  passthruQuery.set("Stream[DisconnectedBy]", o.disconnectedBy ?? "bot");
  const signal = () => AbortSignal.timeout(o.timeoutMs ?? 10_000);

  const passUrl = `${o.baseUrl}/exotel/passthru?${passthruQuery}`;
  const pass = await fetch(passUrl, { redirect: "manual", signal: signal() });
  const passBody = (await pass.text()).slice(0, 200);
  steps.push({ applet: "passthru", url: redact(passUrl), status: pass.status, body: passBody });
  if (pass.status !== 200) {
    steps.push({ applet: "hangup", reason: `Passthru answered ${pass.status}: the flow's other branch` });
    return { steps, numbers: [] };
  }

  const connUrl = `${o.baseUrl}/exotel/connect?${common}`;
  const conn = await fetch(connUrl, { headers: { "Exotel-Version": "1.0" }, signal: signal() });
  const text = await conn.text();
  let reply: unknown;
  try {
    reply = JSON.parse(text);
  } catch {
    reply = text.slice(0, 200);
  }
  steps.push({ applet: "connect", url: redact(connUrl), status: conn.status, reply });
  const numbers = (reply as { destination?: { numbers?: unknown } } | undefined)?.destination?.numbers;
  const list = Array.isArray(numbers) ? numbers.filter((n): n is string => typeof n === "string") : [];
  if (conn.status !== 200 || list.length === 0)
    steps.push({ applet: "hangup", reason: "Connect had nobody to ring: its not-connected branch" });
  return { steps, numbers: list };
}

/** The URL as it may be printed: the token replaced. */
function redact(url: string): string {
  return url.replace(/([?&]token=)[^&]*/, "$1***");
}
