/**
 * LOCAL TEST AGENT: a stand-in for an ElevenLabs Agents (Conversational AI) server, speaking its
 * WebSocket protocol over real HTTP and WebSocket. It is NOT ElevenLabs: it has no speech
 * recognition and no LLM. It plays shipped prompts (fixtures/agent-prompt-*-16k.wav), detects
 * caller turns with an energy VAD, and can fail on purpose. Written from ElevenLabs' documentation,
 * independently of the bridge's code (nothing from app/src), so a misreading of the protocol in
 * the bridge is not silently shared by the tool that tests it.
 *
 * HTTP surface (same paths as the real service, so the bridge only needs ELEVENLABS_BASE_URL):
 *   GET /v1/convai/conversation/get-signed-url?agent_id=ID   header xi-api-key
 *       200 {"signed_url":"ws://HOST/v1/convai/conversation?agent_id=ID&conversation_signature=SIG"}
 *       401 wrong or missing key, 404 unknown agent. Signatures are single-use and expire.
 *   WS  /v1/convai/conversation?agent_id=ID[&conversation_signature=SIG]
 *       with an API key configured a valid signature is required (401 without, 403 when bad);
 *       in public mode (no key) any known agent is accepted. Unknown agent: 404.
 *
 * One job per module (scripts/lib/local-agent/): server.ts (HTTP, signatures, upgrade, events
 * feed), conversation.ts (one conversation: socket, records, speech), script.ts (script and echo
 * behaviour), failures.ts (failures on purpose), formats.ts, prompts.ts, narrate.ts, types.ts.
 *
 * Usage in tests:
 *   const agent = await startLocalAgent({ apiKey: "k", mode: "manual", outputFormat: "pcm_8000" });
 *   // bridge env: ELEVENLABS_BASE_URL=agent.url, ELEVENLABS_API_KEY="k", ELEVENLABS_AGENT_ID=agent.agentIds[0]
 *   const conv = await agent.nextConversation(5000);
 *   await conv.waitFor((c) => c.userAudio().length > 16000, 5000);
 *   await conv.speak({ text: "hi", pcm, sampleRate: 16000 });   // or conv.sendAudio(pcm, eventId)
 *   conv.sendRaw("{not json"); conv.interrupt(eventId); conv.close(1011, "boom");
 *   const { code, by } = await conv.closed;
 *   await agent.close();
 */
export { AgentConversation } from "./local-agent/conversation.js";
export { type Narration, narrate } from "./local-agent/narrate.js";
export { shippedPrompts } from "./local-agent/prompts.js";
export { EVENTS_PATH, LocalAgent, startLocalAgent } from "./local-agent/server.js";
export {
  AGENT_AUDIO_FORMATS,
  type AgentAudioFormat,
  type AgentFailure,
  type AgentMode,
  type ConversationClose,
  type ConversationEvent,
  type LocalAgentOptions,
  type ReceivedMessage,
  type ResponseRecord,
  type ScriptedToolCall,
  type ScriptPrompts,
  type SentMessage,
  type ToolResult,
  type Utterance,
} from "./local-agent/types.js";
