/**
 * Post-call webhook bodies shaped like ElevenLabs' documented `post_call_transcription` (the GET
 * Conversation object under `data`), and a sender that signs them the way ElevenLabs does.
 */
import { signBody } from "../../app/src/analysis/index.js";

export const SECRET = "wsec_test_0123456789abcdef0123456789abcdef";

export function transcriptionBody(
  conversationId: string,
  options: { callSid?: string; success?: string; type?: string } = {},
): string {
  const dynamic: Record<string, string> = { caller_number: "+919800000001" };
  if (options.callSid !== undefined) dynamic.call_sid = options.callSid;
  return JSON.stringify({
    type: options.type ?? "post_call_transcription",
    event_timestamp: 1_764_450_000,
    data: {
      agent_id: "agent_test",
      conversation_id: conversationId,
      status: "done",
      transcript: [{ role: "agent", message: "Namaste, how can I help?", time_in_call_secs: 0 }],
      metadata: {
        start_time_unix_secs: 1_764_449_900,
        call_duration_secs: 42,
        cost: 310,
        termination_reason: "end_call tool was called",
      },
      analysis: {
        call_successful: options.success ?? "success",
        transcript_summary: "The caller asked about their order and got its delivery date.",
        evaluation_criteria_results: {
          order_found: { criteria_id: "order_found", result: "success", rationale: "The order was found." },
          polite: { criteria_id: "polite", result: "failure", rationale: "Interrupted twice." },
        },
        data_collection_results: {
          order_id: { data_collection_id: "order_id", value: "A-1042", rationale: "Said by the caller." },
          callback: { data_collection_id: "callback", value: false, rationale: "Not requested." },
        },
      },
      conversation_initiation_client_data: { dynamic_variables: dynamic },
    },
  });
}

export async function deliver(
  baseUrl: string,
  body: string | Buffer,
  options: {
    secret?: string;
    timestampS?: number;
    header?: string | null;
    signedBody?: string | Buffer;
  } = {},
): Promise<{ status: number; text: string }> {
  const t = options.timestampS ?? Math.floor(Date.now() / 1000);
  const header =
    options.header === undefined
      ? signBody(options.signedBody ?? body, options.secret ?? SECRET, t)
      : options.header;
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (header !== null) headers["ElevenLabs-Signature"] = header;
  const res = await fetch(`${baseUrl}/webhooks/elevenlabs/post-call`, { method: "POST", headers, body });
  return { status: res.status, text: await res.text() };
}
