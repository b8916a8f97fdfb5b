/**
 * Pure parser for agent -> bridge frames (docs/protocols.md, "ElevenLabs: server to client").
 * Never throws; documented types the bridge does not use become `ignored` events, unknown types
 * `unknown` events, malformed known types typed errors.
 */
import { DEFAULT_AGENT_FORMAT_NAME } from "../audio/formats.js";
import {
  type AgentEvent,
  type AgentParseErrorCode,
  type AgentParseResult,
  IGNORED_AGENT_EVENT_TYPES,
  type IgnoredAgentEvent,
  type IgnoredAgentEventType,
} from "./messages.js";

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function fail(code: AgentParseErrorCode, detail: string): AgentParseResult {
  return { ok: false, error: { code, detail } };
}

function ok(event: AgentEvent): AgentParseResult {
  return { ok: true, event };
}

function num(v: unknown): number | undefined {
  if (typeof v === "number" && Number.isFinite(v)) return v;
  if (typeof v === "string" && v.trim() !== "" && Number.isFinite(Number(v))) return Number(v);
  return undefined;
}

function text(v: unknown): string {
  return typeof v === "string" ? v : "";
}

/** One frozen event per ignorable type: some (agent_chat_response_part) come many per turn. */
const IGNORED: ReadonlyMap<string, IgnoredAgentEvent> = new Map(
  IGNORED_AGENT_EVENT_TYPES.map((name: IgnoredAgentEventType) => [
    name,
    Object.freeze({ type: "ignored" as const, name }),
  ]),
);

/** Tool call ids and names are echoed into logs and frames: bounded like any peer string. */
const MAX_TOOL_ID = 256;

/** `{..., eventId}` only when the id is a finite number. */
function withId<T extends object>(base: T, v: unknown): T & { eventId?: number } {
  const id = num(v);
  return id === undefined ? base : { ...base, eventId: id };
}

export function parseAgentMessage(raw: string): AgentParseResult {
  let msg: unknown;
  try {
    msg = JSON.parse(raw);
  } catch {
    return fail("invalid_json", `not JSON (${raw.length} chars)`);
  }
  if (!isObj(msg)) return fail("not_an_object", typeof msg);
  const type = msg.type;
  if (typeof type !== "string" || type === "") return fail("missing_type", "type");

  switch (type) {
    case "audio": {
      const e = msg.audio_event;
      if (!isObj(e)) return fail("missing_field", "audio.audio_event");
      if (typeof e.audio_base_64 !== "string")
        return fail(e.audio_base_64 === undefined ? "missing_field" : "invalid_field", "audio.audio_base_64");
      const eventId = num(e.event_id);
      if (eventId === undefined) return fail("missing_field", "audio.event_id");
      return ok({ type: "audio", audioBase64: e.audio_base_64, eventId });
    }
    case "ping": {
      const e = msg.ping_event;
      const eventId = isObj(e) ? num(e.event_id) : undefined;
      if (eventId === undefined) return fail("missing_field", "ping.event_id");
      return ok({ type: "ping", eventId, pingMs: isObj(e) ? (num(e.ping_ms) ?? null) : null });
    }
    case "interruption": {
      const e = msg.interruption_event;
      const eventId = isObj(e) ? num(e.event_id) : undefined;
      if (eventId === undefined) return fail("missing_field", "interruption.event_id");
      return ok({ type: "interruption", eventId });
    }
    case "conversation_initiation_metadata": {
      const e = msg.conversation_initiation_metadata_event;
      if (!isObj(e)) return fail("missing_field", "metadata.conversation_initiation_metadata_event");
      const output = text(e.agent_output_audio_format);
      const input = text(e.user_input_audio_format);
      return ok({
        type: "metadata",
        conversationId: text(e.conversation_id),
        agentOutputAudioFormat: output || DEFAULT_AGENT_FORMAT_NAME,
        userInputAudioFormat: input || DEFAULT_AGENT_FORMAT_NAME,
        formatsAssumed: output === "" || input === "",
      });
    }
    case "agent_response": {
      const e = isObj(msg.agent_response_event) ? msg.agent_response_event : {};
      return ok(withId({ type: "agent_response" as const, text: text(e.agent_response) }, e.event_id));
    }
    case "agent_response_correction": {
      const e = isObj(msg.agent_response_correction_event) ? msg.agent_response_correction_event : {};
      return ok(
        withId(
          {
            type: "agent_response_correction" as const,
            original: text(e.original_agent_response),
            corrected: text(e.corrected_agent_response),
          },
          e.event_id,
        ),
      );
    }
    case "user_transcript": {
      const e = isObj(msg.user_transcription_event) ? msg.user_transcription_event : {};
      return ok(withId({ type: "user_transcript" as const, text: text(e.user_transcript) }, e.event_id));
    }
    case "tentative_user_transcript": {
      const e = isObj(msg.tentative_user_transcription_event) ? msg.tentative_user_transcription_event : {};
      return ok({ type: "tentative_user_transcript", text: text(e.user_transcript) });
    }
    case "client_tool_call": {
      const e = msg.client_tool_call;
      if (!isObj(e)) return fail("missing_field", "client_tool_call.client_tool_call");
      if (typeof e.tool_call_id !== "string" || e.tool_call_id === "")
        return fail("missing_field", "client_tool_call.tool_call_id");
      return ok(
        withId(
          {
            type: "client_tool_call" as const,
            toolName: text(e.tool_name),
            toolCallId: e.tool_call_id,
            parameters: isObj(e.parameters) ? e.parameters : {},
          },
          e.event_id,
        ),
      );
    }
    case "agent_tool_response": {
      const e = isObj(msg.agent_tool_response) ? msg.agent_tool_response : {};
      return ok(
        withId(
          {
            type: "agent_tool_response" as const,
            toolName: text(e.tool_name),
            toolCallId: text(e.tool_call_id),
            toolType: text(e.tool_type),
            isError: e.is_error === true,
            isCalled: e.is_called !== false,
          },
          e.event_id,
        ),
      );
    }
    case "vad_score": {
      const e = isObj(msg.vad_score_event) ? msg.vad_score_event : {};
      return ok({ type: "vad_score", score: num(e.vad_score) ?? 0 });
    }
    case "internal_tentative_agent_response": {
      const e = isObj(msg.tentative_agent_response_internal_event)
        ? msg.tentative_agent_response_internal_event
        : {};
      return ok({ type: "internal_tentative_agent_response", text: text(e.tentative_agent_response) });
    }
    case "error": {
      const e = msg.error_event;
      if (isObj(e)) {
        const code = num(e.code);
        const errorType = typeof e.error_type === "string" ? e.error_type : undefined;
        const reason = typeof e.reason === "string" ? e.reason : undefined;
        return ok({
          type: "error",
          message: text(e.message) || reason || errorType || "agent error",
          ...(code !== undefined && { code }),
          ...(errorType !== undefined && { errorType }),
          ...(reason !== undefined && { reason }),
        });
      }
      return ok({ type: "error", message: text(msg.message) || "agent error" });
    }
    case "mcp_tool_call": {
      const e = msg.mcp_tool_call;
      if (!isObj(e)) return fail("missing_field", "mcp_tool_call.mcp_tool_call");
      const toolCallId = e.tool_call_id;
      if (typeof toolCallId !== "string" || toolCallId === "")
        return fail("missing_field", "mcp_tool_call.tool_call_id");
      if (toolCallId.length > MAX_TOOL_ID) return fail("invalid_field", "mcp_tool_call.tool_call_id");
      const timeout = num(e.approval_timeout_secs);
      const errorMessage = typeof e.error_message === "string" ? e.error_message : undefined;
      return ok({
        type: "mcp_tool_call",
        state: text(e.state).slice(0, 32),
        toolCallId,
        toolName: text(e.tool_name).slice(0, MAX_TOOL_ID),
        serviceId: text(e.service_id).slice(0, MAX_TOOL_ID),
        ...(timeout !== undefined && { approvalTimeoutSecs: timeout }),
        ...(errorMessage !== undefined && { errorMessage: errorMessage.slice(0, 1024) }),
      });
    }
    default: {
      const ignored = IGNORED.get(type);
      if (ignored !== undefined) return ok(ignored);
      return ok({ type: "unknown", name: type.length > 64 ? `${type.slice(0, 64)}...` : type });
    }
  }
}
