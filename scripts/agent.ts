/**
 * `npm run agent -- [options]`: runs the LOCAL TEST AGENT (scripts/lib/local-agent.ts), a stand-in
 * for an ElevenLabs agent that speaks the same protocol, so the bridge can be run and tested with
 * no ElevenLabs account or credits. It is not ElevenLabs: it plays shipped prompts, answers caller
 * turns found by an energy VAD (or echoes them back), and can fail on purpose. Runs until Ctrl-C.
 */
import { parseArgs } from "node:util";
import {
  AGENT_AUDIO_FORMATS,
  type AgentAudioFormat,
  type AgentConversation,
  type AgentFailure,
  type AgentMode,
  EVENTS_PATH,
  narrate,
  type ScriptedToolCall,
  startLocalAgent,
} from "./lib/local-agent.js";

const FAILURES = [
  "bad_key",
  "unknown_agent",
  "malformed_signed_url",
  "error_1008",
  "flat_error_1002",
  "silence",
  "close_1011",
  "drop",
  "slow_first_audio",
] as const;

const USAGE = `Usage: npm run agent -- [options]

LOCAL TEST AGENT (not ElevenLabs): speaks the ElevenLabs Agents protocol on your machine.

  --port PORT              listen port (default 8765; 0 = any free port)
  --host HOST              listen address (default 127.0.0.1)
  --api-key KEY            require this xi-api-key for signed URLs (private agent); default: public agent
  --agent-id ID            a known agent id (default local-test-agent); repeatable
  --format FORMAT          audio format both ways: ${AGENT_AUDIO_FORMATS.join(" | ")} (default pcm_16000)
  --output-format FORMAT   agent -> bridge format (overrides --format)
  --input-format FORMAT    bridge -> agent format (overrides --format)
  --mode MODE              script (default): greeting + a prompt per caller turn
                           echo: plays each caller turn back (audio-path test)
                           manual: metadata and pings only
  --no-greeting            do not speak first
  --end-call-after N       after N replies: goodbye, end_call, close 1000
  --transfer TEAM          call the client tool transfer_to_human {"team":TEAM} (see --tool-after)
  --tool NAME[=JSON]       call any client tool by name, with JSON parameters; repeatable
  --mcp-approval NAME[=JSON] send an MCP tool call awaiting the client's approval (mcp_tool_call,
                           state awaiting_approval) at the same point; repeatable
  --no-format-in-metadata  leave the audio formats out of conversation_initiation_metadata
                           (the client must assume pcm_16000 both ways)
  --tool-after N           script/echo: call the tools once N replies were heard in full (default 1;
                           0 = right after the greeting)
  --speedup X              send audio X times faster than real time (default 4)
  --ping-ms MS             ping period (default 2000; 0 = none)
  --input-timeout-ms MS    close 1002 after MS without caller audio (the real service: 60000); default off
  --require-var NAME       fail with missing_dynamic_variable (1008) unless the bridge sends it; repeatable
  --failure KIND           ${FAILURES.join(" | ")}
  --failure-ms MS          when the failure happens (close_1011, drop, flat_error_1002: after metadata;
                           slow_first_audio: the delay). Default 3000
  --quiet                  only the banner and errors
  -h, --help               this text`;

function fail(msg: string): never {
  process.stderr.write(`agent: ${msg}\n\n${USAGE}\n`);
  process.exit(2);
}

function format(v: string | undefined, flag: string): AgentAudioFormat | undefined {
  if (v === undefined) return undefined;
  if (!(AGENT_AUDIO_FORMATS as readonly string[]).includes(v))
    fail(`${flag} must be one of ${AGENT_AUDIO_FORMATS.join(", ")}`);
  return v as AgentAudioFormat;
}

function failure(kind: string | undefined, ms: number): AgentFailure | undefined {
  switch (kind) {
    case undefined:
      return undefined;
    case "bad_key":
    case "unknown_agent":
    case "malformed_signed_url":
    case "silence":
    case "error_1008":
      return { kind };
    case "flat_error_1002":
      return { kind, afterMs: ms };
    case "close_1011":
    case "drop":
      return { kind, afterMs: ms };
    case "slow_first_audio":
      return { kind, delayMs: ms };
    default:
      return fail(`--failure must be one of ${FAILURES.join(", ")}`);
  }
}

/** `NAME` or `NAME={"key":"value"}` -> a scripted tool call. */
function toolCall(spec: string, afterReplies: number): ScriptedToolCall {
  const eq = spec.indexOf("=");
  const name = (eq < 0 ? spec : spec.slice(0, eq)).trim();
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(name)) fail(`--tool: "${name}" is not a tool name`);
  if (eq < 0) return { afterReplies, name };
  let parameters: unknown;
  try {
    parameters = JSON.parse(spec.slice(eq + 1));
  } catch {
    fail(`--tool ${name}: parameters must be JSON, e.g. ${name}='{"team":"sales"}'`);
  }
  if (parameters === null || typeof parameters !== "object" || Array.isArray(parameters))
    fail(`--tool ${name}: parameters must be a JSON object`);
  return { afterReplies, name, parameters: parameters as Record<string, unknown> };
}

/** Prints what the agent says and hears, one line each. */
function narrateTo(conv: AgentConversation, write: (line: string) => void, quiet: boolean): void {
  conv.onEvent((e) => {
    const n = narrate(e, (id) => conv.responseNumber(id));
    // "agent says" and the close are already in the log lines.
    if (n === undefined || (!quiet && (n.text.startsWith("says:") || e.kind === "closed"))) return;
    const at = n.atMs >= 0 ? n.atMs : conv.now();
    write(`${(at / 1000).toFixed(2).padStart(6)}s  ${conv.id}  ${n.text}`);
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: "string", default: "8765" },
      host: { type: "string", default: "127.0.0.1" },
      "api-key": { type: "string" },
      "agent-id": { type: "string", multiple: true },
      format: { type: "string" },
      "output-format": { type: "string" },
      "input-format": { type: "string" },
      mode: { type: "string", default: "script" },
      "no-greeting": { type: "boolean" },
      "end-call-after": { type: "string" },
      transfer: { type: "string" },
      tool: { type: "string", multiple: true },
      "mcp-approval": { type: "string", multiple: true },
      "no-format-in-metadata": { type: "boolean" },
      "tool-after": { type: "string", default: "1" },
      speedup: { type: "string", default: "4" },
      "ping-ms": { type: "string", default: "2000" },
      "require-var": { type: "string", multiple: true },
      "input-timeout-ms": { type: "string" },
      failure: { type: "string" },
      "failure-ms": { type: "string", default: "3000" },
      quiet: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const mode = values.mode as AgentMode;
  if (!["script", "echo", "manual"].includes(mode)) fail("--mode must be script, echo or manual");
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) fail("--port must be 0..65535");
  const both = format(values.format, "--format");
  const out = format(values["output-format"], "--output-format") ?? both;
  const inp = format(values["input-format"], "--input-format") ?? both;
  const endAfter = values["end-call-after"] === undefined ? undefined : Number(values["end-call-after"]);
  if (endAfter !== undefined && (!Number.isInteger(endAfter) || endAfter < 0))
    fail("--end-call-after must be >= 0");
  const toolAfter = Number(values["tool-after"]);
  if (!Number.isInteger(toolAfter) || toolAfter < 0) fail("--tool-after must be an integer >= 0");
  const tools: ScriptedToolCall[] = [
    ...(values.transfer !== undefined
      ? [{ afterReplies: toolAfter, name: "transfer_to_human", parameters: { team: values.transfer } }]
      : []),
    ...(values.tool ?? []).map((spec) => toolCall(spec, toolAfter)),
    ...(values["mcp-approval"] ?? []).map((spec) => ({
      ...toolCall(spec, toolAfter),
      kind: "mcp_approval" as const,
    })),
  ];
  if (tools.length > 0 && mode === "manual")
    fail("--transfer, --tool and --mcp-approval need --mode script or echo");
  const speedup = values.speedup === "inf" ? Number.POSITIVE_INFINITY : Number(values.speedup);
  if (!(speedup >= 1)) fail("--speedup must be a number >= 1 (or inf)");
  const failureMs = Number(values["failure-ms"]);
  const quiet = values.quiet === true;
  const write = (line: string) => process.stdout.write(`${line}\n`);

  const agent = await startLocalAgent({
    port,
    host: values.host as string,
    mode,
    pingIntervalMs: Number(values["ping-ms"]),
    audioSpeedup: speedup,
    ...(values["api-key"] !== undefined && { apiKey: values["api-key"] }),
    ...(values["agent-id"] !== undefined && { agents: values["agent-id"] }),
    ...(out !== undefined && { outputFormat: out }),
    ...(inp !== undefined && { inputFormat: inp }),
    ...(values["no-greeting"] && { greeting: false }),
    ...(endAfter !== undefined && { endCallAfterReplies: endAfter }),
    ...(tools.length > 0 && { toolCalls: tools }),
    ...(values["no-format-in-metadata"] && { announceFormats: false }),
    ...(values["require-var"] !== undefined && { requiredDynamicVariables: values["require-var"] }),
    ...(values["input-timeout-ms"] !== undefined && {
      userInputTimeoutMs: Number(values["input-timeout-ms"]),
    }),
    ...(values.failure !== undefined && { failure: failure(values.failure, failureMs) as AgentFailure }),
    ...(!quiet && { log: write }),
  });
  agent.onConversation((c) => narrateTo(c, write, quiet));
  const id = agent.agentIds[0] as string;
  write("");
  write(
    "=== LOCAL TEST AGENT: not ElevenLabs. Speaks the ElevenLabs Agents protocol for tests and demos. ===",
  );
  write(
    `Listening on ${agent.url}  (agent id${agent.agentIds.length > 1 ? "s" : ""}: ${agent.agentIds.join(", ")})`,
  );
  write("Point the bridge at it:");
  write(
    `  ELEVENLABS_BASE_URL=${agent.url} ELEVENLABS_AGENT_ID=${id}` +
      (values["api-key"] !== undefined ? ` ELEVENLABS_API_KEY=${values["api-key"]}` : "") +
      " npm start",
  );
  write(`Then place a call: npm run call -- ws://127.0.0.1:10002/media --agent-events ${agent.url}`);
  write(`(transcripts feed for the call view: ${agent.url}${EVENTS_PATH})`);
  write("Ctrl-C stops it.");
  write("");

  const stop = () => {
    write("stopping the local test agent");
    agent.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`agent: ${(err as Error)?.message ?? err}\n`);
  process.exit(1);
});
