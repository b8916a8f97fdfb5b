/**
 * ElevenLabs' post-call webhook body and the one `call_analysis` record the bridge logs for it.
 * Shape from ElevenLabs' "Post-call webhooks" page: `{type, event_timestamp, data}` where a
 * `post_call_transcription` carries the GET Conversation object (`agent_id`, `conversation_id`,
 * `status`, `metadata` with `call_duration_secs` and `cost`, `analysis` with `call_successful`,
 * `evaluation_criteria_results`, `data_collection_results`, `transcript_summary`, and
 * `conversation_initiation_client_data.dynamic_variables`). Unknown fields are ignored, every kept
 * value is bounded: the record lands in a log bucket and must stay one reasonable line.
 */
import { z } from "zod";

/** The webhook types ElevenLabs sends; only transcriptions carry the analysis. */
export const ANALYSIS_TYPE = "post_call_transcription";

const MAX_ENTRIES = 32;
const MAX_KEY_CHARS = 64;
const MAX_VALUE_CHARS = 500;
const MAX_SUMMARY_CHARS = 2000;

const id = z.string().min(1).max(128);
const num = z.number().finite();

const webhookSchema = z.object({
  type: z.string().max(64),
  event_timestamp: num.optional(),
  data: z.object({
    conversation_id: id,
    agent_id: z.string().max(128).nullish(),
    status: z.string().max(64).nullish(),
    metadata: z
      .object({
        start_time_unix_secs: num.nullish(),
        call_duration_secs: num.nullish(),
        cost: num.nullish(),
        termination_reason: z.string().nullish(),
      })
      .nullish(),
    analysis: z
      .object({
        call_successful: z.string().nullish(),
        transcript_summary: z.string().nullish(),
        evaluation_criteria_results: z.record(z.string(), z.unknown()).nullish(),
        data_collection_results: z.record(z.string(), z.unknown()).nullish(),
      })
      .nullish(),
    conversation_initiation_client_data: z
      .object({ dynamic_variables: z.record(z.string(), z.unknown()).nullish() })
      .nullish(),
  }),
});

export type PostCallWebhook = z.infer<typeof webhookSchema>;

export type ParsedWebhook =
  | { readonly ok: true; readonly webhook: PostCallWebhook }
  | { readonly ok: false; readonly reason: "malformed" };

/** Parses a verified body; anything that is not the documented envelope is `malformed`. */
export function parseWebhook(raw: Buffer): ParsedWebhook {
  let json: unknown;
  try {
    json = JSON.parse(raw.toString("utf8"));
  } catch {
    return { ok: false, reason: "malformed" };
  }
  const parsed = webhookSchema.safeParse(json);
  return parsed.success ? { ok: true, webhook: parsed.data } : { ok: false, reason: "malformed" };
}

export type CallSuccess = "success" | "failure" | "unknown";
type Scalar = string | number | boolean | null;

/** How the call_sid of a `call_analysis` record was found. */
export type CallSidSource = "dynamic_variables" | "this_instance";

/** The record logged once per analysed conversation (`jsonPayload.*` in Cloud Logging). */
export interface CallAnalysisRecord {
  readonly event: "call_analysis";
  readonly conversation_id: string;
  /** Absent when neither the webhook nor this instance knows the call (join on conversation_id). */
  readonly call_sid?: string;
  readonly call_sid_source?: CallSidSource;
  readonly agent_id?: string;
  readonly status?: string;
  readonly call_successful: CallSuccess;
  /** Criterion id -> its result ("success" / "failure" / "unknown") and ElevenLabs' rationale. */
  readonly evaluation_criteria: Readonly<Record<string, { result: string; rationale?: string }>>;
  readonly evaluation_criteria_failed: number;
  /** Data collection id -> the collected value. */
  readonly data_collection: Readonly<Record<string, Scalar>>;
  readonly cost?: number;
  readonly call_duration_s?: number;
  readonly termination_reason?: string;
  readonly transcript_summary?: string;
  readonly started_at?: string;
  readonly webhook_sent_at?: string;
}

/** The call_sid the bridge itself passed as a dynamic variable when the conversation started. */
export function callSidFromWebhook(w: PostCallWebhook): string | undefined {
  const v = w.data.conversation_initiation_client_data?.dynamic_variables?.call_sid;
  return typeof v === "string" && v !== "" && v.length <= 128 ? v : undefined;
}

export function buildCallAnalysis(
  w: PostCallWebhook,
  join: { callSid: string; source: CallSidSource } | undefined,
): CallAnalysisRecord {
  const d = w.data;
  const a = d.analysis ?? undefined;
  const m = d.metadata ?? undefined;
  const criteria: Record<string, { result: string; rationale?: string }> = {};
  let failed = 0;
  for (const [key, value] of bounded(a?.evaluation_criteria_results)) {
    const o = isObj(value) ? value : {};
    const result = typeof o.result === "string" ? clip(o.result, MAX_KEY_CHARS) : "unknown";
    if (result === "failure") failed++;
    criteria[key] = {
      result,
      ...(typeof o.rationale === "string" && { rationale: clip(o.rationale, MAX_VALUE_CHARS) }),
    };
  }
  const collected: Record<string, Scalar> = {};
  for (const [key, value] of bounded(a?.data_collection_results)) {
    collected[key] = scalar(isObj(value) ? value.value : value);
  }
  const success = a?.call_successful;
  return {
    event: "call_analysis",
    conversation_id: d.conversation_id,
    ...(join && { call_sid: join.callSid, call_sid_source: join.source }),
    ...(d.agent_id && { agent_id: d.agent_id }),
    ...(d.status && { status: d.status }),
    call_successful: success === "success" || success === "failure" ? success : "unknown",
    evaluation_criteria: criteria,
    evaluation_criteria_failed: failed,
    data_collection: collected,
    ...(typeof m?.cost === "number" && { cost: m.cost }),
    ...(typeof m?.call_duration_secs === "number" && { call_duration_s: m.call_duration_secs }),
    ...(m?.termination_reason && { termination_reason: clip(m.termination_reason, MAX_VALUE_CHARS) }),
    ...(a?.transcript_summary && { transcript_summary: clip(a.transcript_summary, MAX_SUMMARY_CHARS) }),
    ...(typeof m?.start_time_unix_secs === "number" && {
      started_at: isoFromSeconds(m.start_time_unix_secs),
    }),
    ...(typeof w.event_timestamp === "number" && { webhook_sent_at: isoFromSeconds(w.event_timestamp) }),
  };
}

function bounded(record: Readonly<Record<string, unknown>> | null | undefined): [string, unknown][] {
  return Object.entries(record ?? {})
    .slice(0, MAX_ENTRIES)
    .map(([k, v]) => [clip(k, MAX_KEY_CHARS), v]);
}

function scalar(v: unknown): Scalar {
  if (v === null || v === undefined) return null;
  if (typeof v === "string") return clip(v, MAX_VALUE_CHARS);
  if (typeof v === "number" || typeof v === "boolean") return v;
  return clip(JSON.stringify(v) ?? "", MAX_VALUE_CHARS);
}

function clip(s: string, max: number): string {
  return s.length > max ? `${s.slice(0, max)}...` : s;
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function isoFromSeconds(s: number): string | undefined {
  const d = new Date(s * 1000);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}
