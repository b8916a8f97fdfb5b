import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  clientToolResultFrame,
  contextualUpdateFrame,
  initiationFrame,
  mcpToolApprovalFrame,
  pongFrame,
  userActivityFrame,
  userAudioFrame,
  userMessageFrame,
} from "../../../app/src/elevenlabs/frames.js";
import {
  agentEndpoints,
  publicConversationUrl,
  REGION_HOSTS,
  signedUrlEndpoint,
} from "../../../app/src/elevenlabs/hosts.js";
import {
  DEFAULT_MCP_APPROVAL_POLICY,
  decideMcpApproval,
  parseMcpApprovalPolicy,
} from "../../../app/src/elevenlabs/mcp-approval.js";
import {
  type AgentEvent,
  IGNORED_AGENT_EVENT_TYPES,
  type McpToolCallEvent,
} from "../../../app/src/elevenlabs/messages.js";
import { parseAgentMessage } from "../../../app/src/elevenlabs/parse.js";

function ok(msg: unknown): AgentEvent {
  const r = parseAgentMessage(typeof msg === "string" ? msg : JSON.stringify(msg));
  assert.ok(r.ok, JSON.stringify(r));
  return r.event;
}

describe("parseAgentMessage", () => {
  it("parses every documented server event", () => {
    assert.deepEqual(
      ok({
        type: "conversation_initiation_metadata",
        conversation_initiation_metadata_event: {
          conversation_id: "conv_1",
          agent_output_audio_format: "pcm_8000",
          user_input_audio_format: "pcm_16000",
        },
      }),
      {
        type: "metadata",
        conversationId: "conv_1",
        agentOutputAudioFormat: "pcm_8000",
        userInputAudioFormat: "pcm_16000",
        formatsAssumed: false,
      },
    );
    assert.deepEqual(
      ok({ type: "audio", audio_event: { audio_base_64: "AAAA", event_id: 12, alignment: {} } }),
      {
        type: "audio",
        audioBase64: "AAAA",
        eventId: 12,
      },
    );
    assert.deepEqual(
      ok({ type: "agent_response", agent_response_event: { agent_response: "Hi", event_id: 12 } }),
      {
        type: "agent_response",
        text: "Hi",
        eventId: 12,
      },
    );
    assert.deepEqual(
      ok({
        type: "agent_response_correction",
        agent_response_correction_event: {
          original_agent_response: "a b c",
          corrected_agent_response: "a b",
          event_id: 12,
        },
      }),
      { type: "agent_response_correction", original: "a b c", corrected: "a b", eventId: 12 },
    );
    assert.deepEqual(
      ok({ type: "user_transcript", user_transcription_event: { user_transcript: "yo", event_id: 13 } }),
      {
        type: "user_transcript",
        text: "yo",
        eventId: 13,
      },
    );
    assert.deepEqual(
      ok({
        type: "tentative_user_transcript",
        tentative_user_transcription_event: { user_transcript: "y", event_id: 13 },
      }),
      { type: "tentative_user_transcript", text: "y" },
    );
    assert.deepEqual(ok({ type: "interruption", interruption_event: { event_id: 12 } }), {
      type: "interruption",
      eventId: 12,
    });
    assert.deepEqual(ok({ type: "ping", ping_event: { event_id: 7, ping_ms: null } }), {
      type: "ping",
      eventId: 7,
      pingMs: null,
    });
    assert.deepEqual(ok({ type: "ping", ping_event: { event_id: 8, ping_ms: 42 } }), {
      type: "ping",
      eventId: 8,
      pingMs: 42,
    });
    assert.deepEqual(
      ok({
        type: "client_tool_call",
        client_tool_call: { tool_name: "t", tool_call_id: "c1", parameters: { a: 1 }, event_id: 14 },
      }),
      { type: "client_tool_call", toolName: "t", toolCallId: "c1", parameters: { a: 1 }, eventId: 14 },
    );
    assert.deepEqual(
      ok({
        type: "agent_tool_response",
        agent_tool_response: {
          tool_name: "end_call",
          tool_call_id: "x",
          tool_type: "system",
          is_error: false,
          is_called: true,
          event_id: 15,
        },
      }),
      {
        type: "agent_tool_response",
        toolName: "end_call",
        toolCallId: "x",
        toolType: "system",
        isError: false,
        isCalled: true,
        eventId: 15,
      },
    );
    assert.deepEqual(ok({ type: "vad_score", vad_score_event: { vad_score: 0.93 } }), {
      type: "vad_score",
      score: 0.93,
    });
    assert.deepEqual(
      ok({
        type: "internal_tentative_agent_response",
        tentative_agent_response_internal_event: { tentative_agent_response: "hm" },
      }),
      { type: "internal_tentative_agent_response", text: "hm" },
    );
  });

  it("handles both error shapes", () => {
    assert.deepEqual(
      ok({
        type: "error",
        error_event: { code: 1008, message: "m", error_type: "missing_dynamic_variable", reason: "r" },
      }),
      { type: "error", message: "m", code: 1008, errorType: "missing_dynamic_variable", reason: "r" },
    );
    assert.deepEqual(ok({ type: "error", message: "quota exceeded" }), {
      type: "error",
      message: "quota exceeded",
    });
    assert.deepEqual(ok({ type: "error" }), { type: "error", message: "agent error" });
  });

  it("ignores unknown types without failing", () => {
    assert.deepEqual(ok({ type: "future_event", x: 1 }), { type: "unknown", name: "future_event" });
    assert.equal((ok({ type: "z".repeat(500) }) as { name: string }).name.length, 67);
  });

  it("types every documented but unused server event as ignored, one shared object each", () => {
    for (const name of IGNORED_AGENT_EVENT_TYPES) {
      const e = ok({ type: name, whatever: { a: 1 } });
      assert.deepEqual(e, { type: "ignored", name });
      assert.equal(e, ok({ type: name }), "no allocation per event");
    }
  });

  it("assumes pcm_16000 for a format the metadata leaves out, and flags it", () => {
    assert.deepEqual(
      ok({
        type: "conversation_initiation_metadata",
        conversation_initiation_metadata_event: { conversation_id: "c" },
      }),
      {
        type: "metadata",
        conversationId: "c",
        agentOutputAudioFormat: "pcm_16000",
        userInputAudioFormat: "pcm_16000",
        formatsAssumed: true,
      },
    );
    const one = ok({
      type: "conversation_initiation_metadata",
      conversation_initiation_metadata_event: {
        conversation_id: "c",
        agent_output_audio_format: "ulaw_8000",
      },
    });
    assert.ok(one.type === "metadata");
    if (one.type !== "metadata") return;
    assert.equal(one.agentOutputAudioFormat, "ulaw_8000");
    assert.equal(one.userInputAudioFormat, "pcm_16000");
    assert.equal(one.formatsAssumed, true);
    const unknown = ok({
      type: "conversation_initiation_metadata",
      conversation_initiation_metadata_event: {
        agent_output_audio_format: "mp3_44100",
        user_input_audio_format: "pcm_8000",
      },
    });
    assert.ok(
      unknown.type === "metadata" &&
        unknown.agentOutputAudioFormat === "mp3_44100" &&
        !unknown.formatsAssumed,
    );
  });

  it("parses mcp_tool_call in each documented state", () => {
    const base = {
      service_id: "svc",
      tool_call_id: "t1",
      tool_name: "search",
      parameters: {},
      timestamp: "x",
    };
    assert.deepEqual(
      ok({
        type: "mcp_tool_call",
        mcp_tool_call: { ...base, state: "awaiting_approval", approval_timeout_secs: 300 },
      }),
      {
        type: "mcp_tool_call",
        state: "awaiting_approval",
        toolCallId: "t1",
        toolName: "search",
        serviceId: "svc",
        approvalTimeoutSecs: 300,
      },
    );
    assert.deepEqual(
      ok({ type: "mcp_tool_call", mcp_tool_call: { ...base, state: "failure", error_message: "e" } }),
      {
        type: "mcp_tool_call",
        state: "failure",
        toolCallId: "t1",
        toolName: "search",
        serviceId: "svc",
        errorMessage: "e",
      },
    );
    const loading = ok({ type: "mcp_tool_call", mcp_tool_call: { ...base, state: "loading" } });
    assert.ok(loading.type === "mcp_tool_call" && loading.state === "loading");
    const code = (raw: unknown) => {
      const r = parseAgentMessage(JSON.stringify(raw));
      assert.ok(!r.ok);
      return r.error.code;
    };
    assert.equal(code({ type: "mcp_tool_call" }), "missing_field");
    assert.equal(code({ type: "mcp_tool_call", mcp_tool_call: { state: "loading" } }), "missing_field");
    assert.equal(
      code({ type: "mcp_tool_call", mcp_tool_call: { tool_call_id: "x".repeat(300) } }),
      "invalid_field",
    );
  });

  it("returns typed errors for malformed frames", () => {
    const code = (raw: string) => {
      const r = parseAgentMessage(raw);
      assert.ok(!r.ok);
      return r.error.code;
    };
    assert.equal(code("nope"), "invalid_json");
    assert.equal(code("3"), "not_an_object");
    assert.equal(code("{}"), "missing_type");
    assert.equal(code('{"type":"audio"}'), "missing_field");
    assert.equal(code('{"type":"audio","audio_event":{"audio_base_64":5,"event_id":1}}'), "invalid_field");
    assert.equal(code('{"type":"audio","audio_event":{"audio_base_64":"AA=="}}'), "missing_field");
    assert.equal(code('{"type":"ping"}'), "missing_field");
    assert.equal(code('{"type":"interruption","interruption_event":{}}'), "missing_field");
  });
});

describe("agent frame builders", () => {
  it("write the documented client messages", () => {
    assert.deepEqual(JSON.parse(userAudioFrame("AAAA")), { user_audio_chunk: "AAAA" });
    assert.deepEqual(JSON.parse(pongFrame(7)), { type: "pong", event_id: 7 });
    assert.deepEqual(JSON.parse(userMessageFrame("4567")), { type: "user_message", text: "4567" });
    assert.deepEqual(JSON.parse(contextualUpdateFrame("c")), { type: "contextual_update", text: "c" });
    assert.deepEqual(JSON.parse(clientToolResultFrame("id", "done", false)), {
      type: "client_tool_result",
      tool_call_id: "id",
      result: "done",
      is_error: false,
    });
    assert.deepEqual(JSON.parse(userActivityFrame()), { type: "user_activity" });
    assert.deepEqual(JSON.parse(mcpToolApprovalFrame("t1", false)), {
      type: "mcp_tool_approval_result",
      tool_call_id: "t1",
      is_approved: false,
    });
  });

  it("sends overrides only when configured", () => {
    assert.deepEqual(JSON.parse(initiationFrame({ caller_number: "+91" }, {})), {
      type: "conversation_initiation_client_data",
      dynamic_variables: { caller_number: "+91" },
    });
    assert.deepEqual(
      JSON.parse(initiationFrame({}, { firstMessage: "", language: "hi", prompt: "p", voiceId: "v1" }))
        .conversation_config_override,
      { agent: { prompt: { prompt: "p" }, first_message: "", language: "hi" }, tts: { voice_id: "v1" } },
    );
  });
});

describe("hosts", () => {
  it("maps regions and the base URL override", () => {
    assert.deepEqual(agentEndpoints("india"), {
      restBase: "https://api.in.residency.elevenlabs.io",
      wsBase: "wss://api.in.residency.elevenlabs.io",
    });
    const local = agentEndpoints("default", "http://127.0.0.1:9000/");
    assert.equal(local.wsBase, "ws://127.0.0.1:9000");
    assert.equal(
      signedUrlEndpoint(local, "a b"),
      "http://127.0.0.1:9000/v1/convai/conversation/get-signed-url?agent_id=a%20b",
    );
    assert.equal(
      publicConversationUrl(agentEndpoints("us"), "ag"),
      "wss://api.us.elevenlabs.io/v1/convai/conversation?agent_id=ag",
    );
  });
});

describe("residency hosts", () => {
  it("lists every host in the official servers list, Singapore included", () => {
    assert.deepEqual(Object.values(REGION_HOSTS).sort(), [
      "api.elevenlabs.io",
      "api.eu.residency.elevenlabs.io",
      "api.in.residency.elevenlabs.io",
      "api.sg.residency.elevenlabs.io",
      "api.us.elevenlabs.io",
    ]);
    assert.equal(agentEndpoints("singapore").wsBase, "wss://api.sg.residency.elevenlabs.io");
  });
});

describe("MCP approval policy", () => {
  const call = (state: string, toolName = "search", serviceId = "svc"): McpToolCallEvent => ({
    type: "mcp_tool_call",
    state,
    toolCallId: "t1",
    toolName,
    serviceId,
  });

  it("denies by default and answers only calls awaiting approval", () => {
    assert.deepEqual(decideMcpApproval(DEFAULT_MCP_APPROVAL_POLICY, call("awaiting_approval")), {
      approve: false,
      reason: "policy_deny",
    });
    for (const state of ["loading", "success", "failure", "later_state"])
      assert.equal(decideMcpApproval(DEFAULT_MCP_APPROVAL_POLICY, call(state)), null);
  });

  it("reads deny, allow and allow-lists from configuration text", () => {
    assert.equal(parseMcpApprovalPolicy(undefined), DEFAULT_MCP_APPROVAL_POLICY);
    assert.equal(parseMcpApprovalPolicy(" deny "), DEFAULT_MCP_APPROVAL_POLICY);
    const allow = parseMcpApprovalPolicy("allow");
    assert.ok(typeof allow !== "string");
    if (typeof allow === "string") return;
    assert.deepEqual(decideMcpApproval(allow, call("awaiting_approval")), {
      approve: true,
      reason: "policy_allow",
    });
    const listed = parseMcpApprovalPolicy("allow:search, crm/lookup");
    assert.ok(typeof listed !== "string");
    if (typeof listed === "string") return;
    assert.equal(decideMcpApproval(listed, call("awaiting_approval", "search"))?.approve, true);
    assert.equal(decideMcpApproval(listed, call("awaiting_approval", "lookup", "crm"))?.approve, true);
    assert.deepEqual(decideMcpApproval(listed, call("awaiting_approval", "lookup", "other")), {
      approve: false,
      reason: "tool_not_listed",
    });
    assert.equal(typeof parseMcpApprovalPolicy("allow:"), "string");
    assert.equal(typeof parseMcpApprovalPolicy("allow:bad name"), "string");
    assert.equal(typeof parseMcpApprovalPolicy("yes please"), "string");
  });
});
