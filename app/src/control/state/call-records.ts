/**
 * Per-call records kept in the StateStore, keyed so that any instance can answer Exotel's HTTP
 * requests about a call (Connect, Passthru, dynamic URL) and any instance can pick up the plan of a
 * call placed through another one (`POST /calls`).
 *
 *   call:{CallSid}:transfer   the agent's transfer decision (written by the client tool)
 *   call:{CallSid}:active     the call is on a bridge right now (written when its plan is made)
 *   call:{CallSid}:outcome    how the call ended (written by the `ended` hook, after the summary)
 *   plan:{token}              a prepared plan: outbound call or dynamic-URL route (token in the URL);
 *                             taken, never just read: a token carries its plan to one stream only
 *   call:{CallSid}:outbound   a call placed by `POST /calls`: number, time, then Exotel's final
 *                             status from its StatusCallback (busy, no-answer, completed...)
 *   plan-sid:{CallSid}        the same plan, by Exotel's call SID (outbound calls); read only for
 *                             a SID from an authenticated party (see control/routing/resolve.ts)
 *
 * Every read and write is bounded by `timeoutMs`; values are JSON and read defensively.
 */
import type { ConversationOverrides, DynamicVariables } from "../../elevenlabs/messages.js";
import { type StateStore, withTimeout } from "./store.js";

export interface TransferDecision {
  /** Team asked for (lower case), when any. */
  readonly team?: string;
  /** Numbers Exotel's Connect applet will ring, in order. */
  readonly numbers: readonly string[];
  readonly reason?: string;
  /** ISO time of the decision. */
  readonly at: string;
}

export interface CallOutcome {
  readonly endReason: string;
  readonly endedBy: string;
  readonly at: string;
  readonly recording?: string;
}

/** A call the bridge placed, and what Exotel reported about it at the end. */
export interface OutboundRecord {
  readonly to: string;
  readonly placedAt: string;
  readonly mode: "flow" | "stream";
  /** Exotel's final status: completed, busy, no-answer, failed (absent until its callback). */
  readonly status?: string;
  /** Seconds of conversation, when Exotel reported it. */
  readonly durationS?: number;
  readonly recordingUrl?: string;
  /** When Exotel's status callback arrived. */
  readonly reportedAt?: string;
}

/** A plan prepared before the stream exists, applied by the plan hook when it arrives. */
export interface PreparedPlan {
  readonly source: "outbound" | "dynamic_url" | "routing_table";
  /** Routing-table route the plan came from, when any. */
  readonly route?: string;
  readonly agentId?: string;
  readonly dynamicVariables?: DynamicVariables;
  readonly overrides?: ConversationOverrides;
  readonly requiredVariables?: readonly string[];
  readonly record?: boolean;
  readonly labels?: Readonly<Record<string, string>>;
  /** Exotel's call SID, once known. */
  readonly callSid?: string;
}

function parse<T>(raw: string | undefined): T | undefined {
  if (raw === undefined) return undefined;
  try {
    const v = JSON.parse(raw) as unknown;
    return v !== null && typeof v === "object" ? (v as T) : undefined;
  } catch {
    return undefined;
  }
}

export class CallRecords {
  /**
   * @param local with a shared store, a copy in this process: what this instance wrote stays
   *   readable here while the shared store is down (same-instance requests still get answers).
   */
  constructor(
    readonly store: StateStore,
    private readonly ttlMs: number,
    private readonly timeoutMs: number,
    private readonly local?: StateStore,
  ) {}

  private async get<T>(key: string): Promise<T | undefined> {
    const what = `get ${key.split(":")[0]}`;
    if (this.local === undefined)
      return parse<T>(await withTimeout(this.store.get(key), this.timeoutMs, what));
    try {
      const v = await withTimeout(this.store.get(key), this.timeoutMs, what);
      if (v !== undefined) return parse<T>(v);
    } catch (err) {
      const mine = parse<T>(await this.local.get(key));
      if (mine === undefined) throw err;
      return mine;
    }
    return parse<T>(await this.local.get(key));
  }

  private async put(key: string, value: unknown, ttlMs = this.ttlMs): Promise<void> {
    const text = JSON.stringify(value);
    await this.local?.set(key, text, ttlMs);
    await withTimeout(this.store.set(key, text, ttlMs), this.timeoutMs, `set ${key.split(":")[0]}`);
  }

  putTransfer(callSid: string, decision: TransferDecision): Promise<void> {
    return this.put(`call:${callSid}:transfer`, decision);
  }

  getTransfer(callSid: string): Promise<TransferDecision | undefined> {
    return this.get<TransferDecision>(`call:${callSid}:transfer`);
  }

  markActive(callSid: string, ttlMs: number): Promise<void> {
    return this.put(`call:${callSid}:active`, { at: new Date().toISOString() }, ttlMs);
  }

  async isActive(callSid: string): Promise<boolean> {
    return (await this.get(`call:${callSid}:active`)) !== undefined;
  }

  async putOutcome(callSid: string, outcome: CallOutcome): Promise<void> {
    await this.put(`call:${callSid}:outcome`, outcome);
    await this.local?.delete(`call:${callSid}:active`);
    await withTimeout(this.store.delete(`call:${callSid}:active`), this.timeoutMs, "delete active");
  }

  getOutcome(callSid: string): Promise<CallOutcome | undefined> {
    return this.get<CallOutcome>(`call:${callSid}:outcome`);
  }

  putOutbound(callSid: string, record: OutboundRecord): Promise<void> {
    return this.put(`call:${callSid}:outbound`, record);
  }

  getOutbound(callSid: string): Promise<OutboundRecord | undefined> {
    return this.get<OutboundRecord>(`call:${callSid}:outbound`);
  }

  putPlan(token: string, plan: PreparedPlan): Promise<void> {
    return this.put(`plan:${token}`, plan);
  }

  /** The plan under `token`, deleted as it is read: a leaked or replayed token finds nothing. */
  async takePlan(token: string): Promise<PreparedPlan | undefined> {
    const key = `plan:${token}`;
    if (this.local === undefined)
      return parse<PreparedPlan>(await withTimeout(this.store.take(key), this.timeoutMs, "take plan"));
    const mine = await this.local.take(key);
    try {
      const shared = await withTimeout(this.store.take(key), this.timeoutMs, "take plan");
      // Taken elsewhere first: this instance's copy must not honour it a second time.
      return shared === undefined ? undefined : parse<PreparedPlan>(shared);
    } catch (err) {
      if (mine === undefined) throw err;
      return parse<PreparedPlan>(mine);
    }
  }

  async deletePlan(token: string): Promise<void> {
    await this.local?.delete(`plan:${token}`);
    await withTimeout(this.store.delete(`plan:${token}`), this.timeoutMs, "delete plan");
  }

  putPlanBySid(callSid: string, plan: PreparedPlan): Promise<void> {
    return this.put(`plan-sid:${callSid}`, plan);
  }

  getPlanBySid(callSid: string): Promise<PreparedPlan | undefined> {
    return this.get<PreparedPlan>(`plan-sid:${callSid}`);
  }
}
